package storage

import "encoding/binary"

// The key layout. Every key starts with a one-byte namespace:
//
//	0x00 's' <name>                         setting (schemaVersion, ...): raw value
//	0x00 'c' 't' <model>                    catalog: the model's table id, 4 bytes
//	0x00 'c' 'i' <model> 0x00 <index>       catalog: an index's id in its table, 2 bytes
//	0x00 'm' <model>                        sync state of a model (JSON ModelMetadata)
//	0x00 'o' <seq: 8 bytes>                 outbox: local mutations waiting to be sent, in order
//	0x00 'x' <seq: 8 bytes>                 dead letters: mutations the backend refused
//	0x00 'p' <record key>                   pending: seq of the newest outbox entry of a record
//	0x00 'r' <old record key>               re-keyed: the new key of a record with unsent
//	                                        changes, while a migration re-keys its model
//	0x01 <table: 4> <pk components>         record: the codec-encoded stored fields
//	0x02 <table: 4> <index: 2> <index field components> <pk components>
//	                                        index entry: empty value
//	0x03 <table: 4> <pk components>         sync metadata of a record (_version, ...)
//
// Table and index ids are small numbers given out once per model and index
// name and kept in the catalog, so keys stay short and adding a model never
// moves another's data. Key values are components (see AppendString and its
// siblings); a primary key is its partition key field then its sort key
// fields, and an index entry holds every field of the index (partition key,
// then sort keys) followed by the record's primary key, which keeps entries
// unique and lets a scan of the index find the record. A null index field is
// a null component, so every record has one entry in every index and an index
// can serve a sorted scan of the whole table.
const (
	nsSystem   = 0x00
	nsRecord   = 0x01
	nsIndex    = 0x02
	nsSyncMeta = 0x03
)

// SettingKey is the key of a setting.
func SettingKey(name string) []byte { return append([]byte{nsSystem, 's'}, name...) }

// TableIDKey is the catalog key holding a model's table id.
func TableIDKey(model string) []byte { return append([]byte{nsSystem, 'c', 't'}, model...) }

// TableIDPrefix is the prefix of every TableIDKey.
func TableIDPrefix() []byte { return []byte{nsSystem, 'c', 't'} }

// IndexIDKey is the catalog key holding the id of index in model's table.
func IndexIDKey(model, index string) []byte {
	k := append([]byte{nsSystem, 'c', 'i'}, model...)
	k = append(k, 0)
	return append(k, index...)
}

// IndexIDPrefix is the prefix of the IndexIDKeys of model.
func IndexIDPrefix(model string) []byte {
	k := append([]byte{nsSystem, 'c', 'i'}, model...)
	return append(k, 0)
}

// ModelMetaKey is the key of a model's sync state.
func ModelMetaKey(model string) []byte { return append([]byte{nsSystem, 'm'}, model...) }

// OutboxKey is the key of the outbox entry with sequence number seq.
func OutboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{nsSystem, 'o'}, seq)
}

// OutboxPrefix is the prefix of every OutboxKey.
func OutboxPrefix() []byte { return []byte{nsSystem, 'o'} }

// DeadLetterKey is the key of the dead letter with sequence number seq.
func DeadLetterKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{nsSystem, 'x'}, seq)
}

// PendingKey is the key that points a record (by its record key) at its
// newest outbox entry, so a local write merges into it and an incoming
// change for the record is held back while it is pending.
func PendingKey(recordKey []byte) []byte {
	return append([]byte{nsSystem, 'p'}, recordKey...)
}

// RekeyKey is the key that maps a record's key before a migration re-keyed
// its model to the key after, for the outbox entries that name the record.
func RekeyKey(oldRecordKey []byte) []byte {
	return append([]byte{nsSystem, 'r'}, oldRecordKey...)
}

// RekeyPrefix is the prefix of every RekeyKey.
func RekeyPrefix() []byte { return []byte{nsSystem, 'r'} }

// DeadLetterPrefix is the prefix of every DeadLetterKey.
func DeadLetterPrefix() []byte { return []byte{nsSystem, 'x'} }

// RecordPrefix is the prefix of every record key of table; append primary
// key components to make a record key.
func RecordPrefix(table uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{nsRecord}, table)
}

// IndexPrefix is the prefix of every entry of index in table; append index
// field and primary key components to make an entry key.
func IndexPrefix(table uint32, index uint16) []byte {
	k := binary.BigEndian.AppendUint32([]byte{nsIndex}, table)
	return binary.BigEndian.AppendUint16(k, index)
}

// SyncMetaPrefix is the prefix of the sync metadata keys of table.
func SyncMetaPrefix(table uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{nsSyncMeta}, table)
}

// TablePrefixes returns the prefixes under which table keeps data: records,
// index entries and sync metadata. Dropping them drops the table.
func TablePrefixes(table uint32) [][]byte {
	return [][]byte{
		RecordPrefix(table),
		binary.BigEndian.AppendUint32([]byte{nsIndex}, table),
		SyncMetaPrefix(table),
	}
}

// DataPrefixes returns the prefixes of all user data and sync state,
// leaving the catalog and settings: what Clear deletes.
func DataPrefixes() [][]byte {
	return [][]byte{
		{nsRecord}, {nsIndex}, {nsSyncMeta},
		{nsSystem, 'm'}, {nsSystem, 'o'}, {nsSystem, 'x'}, {nsSystem, 'p'},
	}
}
