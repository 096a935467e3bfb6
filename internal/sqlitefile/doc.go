// Package sqlitefile writes a new SQLite database file (file format 4,
// UTF-8, 4096-byte pages, no journal, no free pages) from tables and
// indexes given in full: it lays out the schema table on page 1, each
// table's b-tree (with interior pages when it spans several leaves and
// overflow pages for large rows) and each index's b-tree, its entries
// sorted as SQLite compares records with the BINARY collation. It writes
// what a fixed schema needs (the rpm database) and nothing more: values
// are NULL, integers, text or blobs; there is no SQL, no reading back and
// no updating. The same tables give the same bytes.
//
// The caller gives each object's CREATE statement as SQLite keeps it in
// sqlite_schema (without IF NOT EXISTS), the rowids of each table's rows,
// and NULL for a column that is the rowid's alias (INTEGER PRIMARY KEY);
// a table with AUTOINCREMENT needs its sqlite_sequence table and row given
// as well. See https://www.sqlite.org/fileformat.html.
package sqlitefile
