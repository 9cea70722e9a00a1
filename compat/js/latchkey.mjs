// Helpers shared by the compatibility tests: build or find the latchkey binary,
// run `latchkey serve` on a free loopback port with its own data directory,
// create extra pools with `latchkey pools create`, and read one-time codes
// from the dev outbox.
//
// Each test file runs in its own Node process (that is how `node --test`
// works), so each file starts its own server.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';

const execFileP = promisify(execFile);

/** The repository root: this file is compat/js/latchkey.mjs. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Flags that turn off the per-destination, per-range and per-address send
 * limits: the suites send many codes to few numbers from 127.0.0.1 within
 * seconds. The guessing budget stays on; Go tests cover the limits.
 */
export const relaxedSendLimits = [
  'destination_cooldown', 'destination_hourly', 'destination_daily', 'prefix_hourly', 'prefix_daily',
  'ip_hourly', 'ip_daily', 'new_sms_hourly', 'new_sms_daily',
].flatMap((name) => ['--limit', `${name}=off`]);

let binaryPromise;
const cleanups = new Set();

// Whatever happens to the tests, do not leave servers or directories behind.
function cleanUp() {
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // exiting anyway
    }
  }
  cleanups.clear();
}
process.on('exit', cleanUp);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => {
    cleanUp();
    process.exit(code);
  });
}

/**
 * The latchkey binary: $LATCHKEY_BIN if set, else built once per process
 * with `go build -o <tmp>/latchkey ./cmd/latchkey` from the repository root.
 */
export function latchkeyBinary() {
  binaryPromise ??= (async () => {
    if (process.env.LATCHKEY_BIN) return resolve(process.env.LATCHKEY_BIN);
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-compat-bin-'));
    cleanups.add(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'latchkey');
    try {
      await execFileP('go', ['build', '-o', out, './cmd/latchkey'], {
        cwd: repoRoot,
        env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin` },
        maxBuffer: 16 << 20,
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`go build ./cmd/latchkey failed (set LATCHKEY_BIN to use a built binary): ${err.stderr || err.message}`);
    }
    return out;
  })();
  return binaryPromise;
}

/**
 * Starts `latchkey serve --addr 127.0.0.1:0 --data <tmpdir> --log-format json`
 * and resolves once it listens; with relaxLimits (the default) the first
 * pool's send limits are turned off. The result knows the URL, the first pool and
 * its app client, and how to stop the server.
 */
export async function startLatchkey({ extraArgs = [], relaxLimits = true } = {}) {
  const bin = await latchkeyBinary();
  const dataDir = await mkdtemp(join(tmpdir(), 'latchkey-compat-data-'));
  const args = ['serve', '--addr', '127.0.0.1:0', '--data', dataDir, '--log-format', 'json', ...extraArgs];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  cleanups.add(kill);

  const stderrLines = [];
  const stdoutLines = [];
  let listening;
  let created;
  const ready = new Promise((resolveReady, rejectReady) => {
    const check = () => {
      if (listening && created) resolveReady();
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdoutLines.push(line);
      const m = /^Created user pool (\S+) and app client (\S+)\.$/.exec(line.trim());
      if (m) {
        created = { poolId: m[1], clientId: m[2] };
        check();
      }
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrLines.push(line);
      if (stderrLines.length > 2000) stderrLines.shift();
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.msg === 'listening') {
        listening = { addr: rec.addr, publicUrl: rec.public_url };
        check();
      }
    });
    child.on('error', rejectReady);
    child.on('exit', (code, signal) =>
      rejectReady(
        new Error(
          `latchkey serve exited early (code ${code}, signal ${signal}).\nstdout:\n${stdoutLines.join('\n')}\nstderr:\n${stderrLines.join('\n')}`,
        ),
      ),
    );
  });
  let timer;
  const timeout = new Promise((_, rejectTimeout) => {
    timer = setTimeout(
      () => rejectTimeout(new Error(`latchkey serve did not start within 30 s.\nstderr:\n${stderrLines.join('\n')}`)),
      30_000,
    );
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (err) {
    kill();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const url = `http://${listening.addr}`;
  if (relaxLimits) {
    try {
      await execFileP(bin, ['pools', 'update', created.poolId, '--data', dataDir, ...relaxedSendLimits]);
    } catch (err) {
      kill();
      throw new Error(`latchkey pools update failed: ${(err.stderr || err.message).trim()}`);
    }
  }
  return new Latchkey({ bin, child, dataDir, url, publicUrl: listening.publicUrl, ...created, stderrLines, kill });
}

export class Latchkey {
  constructor({ bin, child, dataDir, url, publicUrl, poolId, clientId, stderrLines, kill }) {
    Object.assign(this, { bin, child, dataDir, url, publicUrl, poolId, clientId, stderrLines });
    this._kill = kill;
  }

  /** Stops the server with SIGTERM (SIGKILL after 10 s) and removes its data. */
  async stop() {
    const { child } = this;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    cleanups.delete(this._kill);
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /**
   * `latchkey pools create --data DIR --name NAME [...] --json`. Options:
   * name, autoConfirm (boolean), clientName, accessTokenTtl, idTokenTtl,
   * refreshTokenTtl (Go durations such as '10s'), signingAlg ('RS256',
   * 'ES256' or 'EdDSA'). Returns
   * { id, name, clients: [{ id, name }], poolId, clientId }.
   */
  async createPool({ name = `pool-${randomBytes(3).toString('hex')}`, autoConfirm, clientName, accessTokenTtl, idTokenTtl, refreshTokenTtl, signingAlg } = {}) {
    const args = ['pools', 'create', '--data', this.dataDir, '--name', name, ...relaxedSendLimits];
    if (signingAlg !== undefined) args.push('--signing-alg', signingAlg);
    if (autoConfirm !== undefined) args.push(`--auto-confirm=${autoConfirm}`);
    if (clientName !== undefined) args.push('--client-name', clientName);
    if (accessTokenTtl !== undefined) args.push('--access-token-ttl', accessTokenTtl);
    if (idTokenTtl !== undefined) args.push('--id-token-ttl', idTokenTtl);
    if (refreshTokenTtl !== undefined) args.push('--refresh-token-ttl', refreshTokenTtl);
    args.push('--json');
    let stdout;
    try {
      ({ stdout } = await execFileP(this.bin, args, { maxBuffer: 1 << 20 }));
    } catch (err) {
      throw new Error(`latchkey ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
    }
    const pool = JSON.parse(stdout);
    return { ...pool, poolId: pool.id, clientId: pool.clients?.[0]?.id };
  }

  /**
   * `latchkey pools update --data DIR POOL_ID ARGS...`, against the
   * running server's store; resolves to its output.
   */
  async updatePool(poolId, args) {
    const all = ['pools', 'update', poolId, '--data', this.dataDir, ...args];
    try {
      return (await execFileP(this.bin, all, { maxBuffer: 1 << 20 })).stdout;
    } catch (err) {
      throw new Error(`latchkey ${all.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
    }
  }

  /** GET /_dev/outbox?to=DEST: the messages sent to DEST, newest first. */
  async outbox(to) {
    const res = await fetch(`${this.url}/_dev/outbox?to=${encodeURIComponent(to)}`);
    if (res.status !== 200) throw new Error(`GET /_dev/outbox: HTTP ${res.status}: ${await res.text()}`);
    return (await res.json()).messages;
  }

  /** How many messages DEST has had so far; pass it to codeAfter. */
  async mark(to) {
    return (await this.outbox(to)).length;
  }

  /**
   * The code of the newest message to DEST, waiting (up to 5 s) until DEST
   * has more than `mark` messages.
   */
  async codeAfter(to, mark = 0) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const msgs = await this.outbox(to);
      if (msgs.length > mark) return msgs[0].code;
      if (Date.now() > deadline) throw new Error(`no new message for ${to} in the dev outbox (had ${mark})`);
      await sleep(50);
    }
  }

  /** One raw Cognito API call (AWS JSON 1.1) to record wire details. */
  async call(operation, body) {
    const res = await fetch(`${this.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `AWSCognitoIdentityProviderService.${operation}`,
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), body: json ?? text };
  }

  /**
   * Signs `username` up (if needed) and in over the raw API (USER_AUTH with
   * a code from the outbox) and returns the AuthenticationResult.
   */
  async signIn(username, { clientId = this.clientId } = {}) {
    const up = await this.call('SignUp', { ClientId: clientId, Username: username });
    if (up.status !== 200 && up.body?.__type !== 'UsernameExistsException') {
      throw new Error(`SignUp: HTTP ${up.status} ${JSON.stringify(up.body)}`);
    }
    const challenge = username.includes('@') ? 'EMAIL_OTP' : 'SMS_OTP';
    const mark = await this.mark(username);
    const init = await this.call('InitiateAuth', {
      ClientId: clientId,
      AuthFlow: 'USER_AUTH',
      AuthParameters: { USERNAME: username, PREFERRED_CHALLENGE: challenge },
    });
    if (init.status !== 200) throw new Error(`InitiateAuth: HTTP ${init.status} ${JSON.stringify(init.body)}`);
    const code = await this.codeAfter(username, mark);
    const res = await this.call('RespondToAuthChallenge', {
      ClientId: clientId,
      ChallengeName: challenge,
      Session: init.body.Session,
      ChallengeResponses: { USERNAME: username, [`${challenge}_CODE`]: code },
    });
    if (res.status !== 200 || !res.body.AuthenticationResult) {
      throw new Error(`RespondToAuthChallenge: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body.AuthenticationResult;
  }

  /** The issuer (`iss`) of a pool's tokens. */
  issuer(poolId = this.poolId) {
    return `${this.publicUrl}/${poolId}`;
  }
}

/**
 * Makes timers of `minMs` or more not keep the process alive. Amplify's
 * signUp with autoSignIn arms a 3-minute setTimeout that is never cleared;
 * without this, a test file would linger 3 minutes after its last test.
 */
export function unrefLongTimers(minMs = 60_000) {
  const original = globalThis.setTimeout;
  globalThis.setTimeout = function setTimeout(fn, ms, ...args) {
    const t = original(fn, ms, ...args);
    if (ms >= minMs) t?.unref?.();
    return t;
  };
  return () => (globalThis.setTimeout = original);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Each test file has its own server, so numbers need only be unique within a
// process: a random start, then consecutive numbers.
let phoneSeq = randomInt(10000);
/** A fresh US number per call, valid for libphonenumber (+1 415 555 xxxx). */
export function uniquePhone() {
  phoneSeq = (phoneSeq + 1) % 10000;
  return `+1415555${String(phoneSeq).padStart(4, '0')}`;
}

/** A fresh lower-case email address per call. */
export function uniqueEmail() {
  return `user-${randomBytes(5).toString('hex')}@example.com`;
}

/** The payload of a JWT, unverified. */
export function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/** The header of a JWT. */
export function jwtHeader(token) {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
}

/**
 * Wraps globalThis.fetch so every Cognito call (target, URL, method, request
 * header names and body, response status and body) is kept in `log`; with LATCHKEY_COMPAT_TRACE=1
 * it is also printed. Returns { log, restore }.
 */
export function traceFetch() {
  const original = globalThis.fetch;
  const log = [];
  globalThis.fetch = async (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const target = headers.get('x-amz-target');
    const res = await original(input, init);
    if (target) {
      const entry = {
        target: target.replace(/^AWSCognitoIdentityProviderService\./, ''),
        url: String(input instanceof Request ? input.url : input),
        method: init.method ?? 'GET',
        requestHeaders: [...headers.keys()],
        request: typeof init.body === 'string' ? safeJSON(init.body) : init.body,
        status: res.status,
        response: safeJSON(await res.clone().text()),
      };
      log.push(entry);
      if (process.env.LATCHKEY_COMPAT_TRACE === '1') console.error('[trace]', JSON.stringify(entry));
    }
    return res;
  };
  return { log, restore: () => (globalThis.fetch = original) };
}

function safeJSON(s) {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
