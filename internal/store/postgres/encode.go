package postgres

// toNullBlob stores an absent hash as NULL so that it reads back as nil, not
// as an empty slice. pgx sends a nil []byte as NULL.
func toNullBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nonNilBlob stores an absent value as an empty BYTEA for NOT NULL columns.
func nonNilBlob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
