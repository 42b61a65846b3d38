package codec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// EncodeMap appends to buf the record of rec, a model or non-model value
// whose stored fields are fields (a meta.Model's or meta.NonModel's Fields;
// s resolves non-model types). The bytes are those generated code writes
// for the same value.
//
// rec holds JSON-like values by GraphQL field name: string for ID, String,
// enums and AWS scalars (their text) including AWSJSON; int64 for Int and
// AWSTimestamp; float64 for Float; bool for Boolean; map[string]any for
// non-model values; []any for lists. Integers may also be any Go integer
// type, a float64 holding an integer (as encoding/json decodes numbers) or
// a json.Number; Floats any Go number; lists also []string or
// []map[string]any; AWSJSON also []byte or json.RawMessage.
//
// A nil or missing value is null and not written; a nil list element is a
// null element (see the package documentation). Relation fields
// (KindModel) are not stored and are ignored. EncodeMap checks that values
// of AWS scalars are valid, as their Parse functions do, but not that
// enum values belong to their enum nor that required fields are present.
// A key that is not a field is an error. On error EncodeMap returns buf
// with its original length and a *MapError.
func EncodeMap(s *meta.Schema, fields []*meta.Field, rec map[string]any, buf []byte) ([]byte, error) {
	e := Encoder{buf: buf}
	if err := encodeMap(&e, s, fields, rec); err != nil {
		return buf[:len(buf):len(buf)], err
	}
	return e.buf, nil
}

// DecodeMap reads a record of fields (see EncodeMap) into a map of
// JSON-like values: string, int64, float64, bool, map[string]any for
// non-model values and []any for lists. Null fields are absent from the
// map. Fields the record holds but fields does not know are skipped. It
// accepts exactly the records generated code accepts, checking AWS scalar
// texts with their Parse functions; a null list element reads as nil, and so
// does an empty text element of an AWS scalar list. Errors are a *MapError or a *FormatError.
func DecodeMap(s *meta.Schema, fields []*meta.Field, data []byte) (map[string]any, error) {
	var d Decoder
	d.Reset(data)
	return decodeMap(&d, s, fields)
}

// MapError reports a value EncodeMap cannot encode or DecodeMap cannot
// decode, with the path of the field holding it.
type MapError struct {
	// Path names the field, through non-model values and list elements:
	// "address.geo.lat", "tags[2]".
	Path string
	Err  error
}

// Error returns a message such as `codec: address.geo.lat: want a number,
// got string`.
func (e *MapError) Error() string {
	if fe, ok := e.Err.(*FormatError); ok {
		return "codec: " + e.Path + ": " + fe.Error()[len("codec: "):]
	}
	return "codec: " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *MapError) Unwrap() error { return e.Err }

// at adds a path step (a field name or "[i]") in front of err's path.
func at(step string, err error) error {
	if me, ok := err.(*MapError); ok {
		if me.Path != "" && me.Path[0] != '[' {
			step += "."
		}
		me.Path = step + me.Path
		return me
	}
	return &MapError{Path: step, Err: err}
}

// EncodeFields is EncodeMap with the record's values given by value, which
// returns the value of fields[i] and whether it has one (nil and false
// are both null), instead of by a map: for callers that hold the values
// in another shape and would otherwise build a map per record. There are
// no unknown keys to refuse.
func EncodeFields(s *meta.Schema, fields []*meta.Field, value func(i int) (any, bool), buf []byte) ([]byte, error) {
	e := Encoder{buf: buf}
	for i := range fields {
		if v, ok := value(i); ok {
			if err := encodeField(&e, s, fields, i, v); err != nil {
				return buf[:len(buf):len(buf)], err
			}
		}
	}
	return e.buf, nil
}

// encodeField writes v, the value of fields[i], unless it is null or the
// field is not stored.
func encodeField(e *Encoder, s *meta.Schema, fields []*meta.Field, i int, v any) error {
	f := fields[i]
	if v == nil || !f.Stored() {
		return nil
	}
	var err error
	if f.IsList {
		err = encodeList(e, s, f, Number(fields, i), v)
	} else {
		err = encodeValue(e, s, f, Number(fields, i), v)
	}
	if err != nil {
		return at(f.Name, err)
	}
	return nil
}

func encodeMap(e *Encoder, s *meta.Schema, fields []*meta.Field, rec map[string]any) error {
	known := 0
	for i, f := range fields {
		v, present := rec[f.Name]
		if !present {
			continue
		}
		known++
		if err := encodeField(e, s, fields, i, v); err != nil {
			return err
		}
	}
	if known != len(rec) {
		var unknown []string
		for k := range rec {
			if FieldNumber(fields, k) == 0 {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		return &MapError{Path: unknown[0], Err: fmt.Errorf("no such field")}
	}
	return nil
}

// encodeValue writes the non-nil value v of the single-valued field f.
func encodeValue(e *Encoder, s *meta.Schema, f *meta.Field, n int, v any) error {
	switch f.Kind {
	case meta.KindEnum:
		str, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		e.String(n, str)
		return nil
	case meta.KindNonModel:
		m, ok := v.(map[string]any)
		if !ok {
			return wrongType("a map[string]any", v)
		}
		nm := s.NonModel(f.Type)
		if nm == nil {
			return fmt.Errorf("unknown non-model type %s", f.Type)
		}
		var err error
		e.Message(n, func(e *Encoder) { err = encodeMap(e, s, nm.Fields, m) })
		return err
	}
	switch f.Type {
	case meta.ID, meta.String:
		str, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		e.String(n, str)
	case meta.Int, meta.AWSTimestamp:
		i, err := toInt(v)
		if err != nil {
			return err
		}
		e.Int(n, i)
	case meta.Float:
		x, err := toFloat(v)
		if err != nil {
			return err
		}
		e.Float(n, x)
	case meta.Boolean:
		b, ok := v.(bool)
		if !ok {
			return wrongType("a bool", v)
		}
		e.Bool(n, b)
	case meta.AWSJSON:
		b, err := jsonText(v)
		if err != nil {
			return err
		}
		if err := scalar.JSON(b).Valid(); err != nil {
			return err
		}
		e.Raw(n, b)
	default:
		str, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		if err := checkText(f.Type, str); err != nil {
			return err
		}
		e.String(n, str)
	}
	return nil
}

// encodeList writes the non-nil list v of field f.
func encodeList(e *Encoder, s *meta.Schema, f *meta.Field, n int, v any) error {
	list, err := toList(v)
	if err != nil {
		return err
	}
	var nm *meta.NonModel
	if f.Kind == meta.KindNonModel {
		if nm = s.NonModel(f.Type); nm == nil {
			return fmt.Errorf("unknown non-model type %s", f.Type)
		}
	}
	e.List(n, len(list), func(l *ListEncoder, i int) {
		if err != nil {
			return
		}
		if err = encodeElem(l, s, f, nm, list[i]); err != nil {
			err = at("["+strconv.Itoa(i)+"]", err)
		}
		if list[i] == nil {
			l.Null(i)
		}
	})
	return err
}

// encodeElem writes one list element; nil is the zero value (which the
// caller marks null).
func encodeElem(l *ListEncoder, s *meta.Schema, f *meta.Field, nm *meta.NonModel, v any) error {
	switch {
	case f.Kind == meta.KindNonModel:
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			return wrongType("a map[string]any", v)
		}
		var err error
		l.Message(func(e *Encoder) { err = encodeMap(e, s, nm.Fields, m) })
		return err
	case f.Kind == meta.KindEnum, f.Type == meta.ID, f.Type == meta.String:
		str, ok := v.(string)
		if !ok && v != nil {
			return wrongType("a string", v)
		}
		l.String(str)
	case f.Type == meta.Int, f.Type == meta.AWSTimestamp:
		var i int64
		if v != nil {
			var err error
			if i, err = toInt(v); err != nil {
				return err
			}
		}
		l.Int(i)
	case f.Type == meta.Float:
		var x float64
		if v != nil {
			var err error
			if x, err = toFloat(v); err != nil {
				return err
			}
		}
		l.Float(x)
	case f.Type == meta.Boolean:
		b, ok := v.(bool)
		if !ok && v != nil {
			return wrongType("a bool", v)
		}
		l.Bool(b)
	case f.Type == meta.AWSJSON:
		var b []byte
		if v != nil {
			var err error
			if b, err = jsonText(v); err != nil {
				return err
			}
			if err := scalar.JSON(b).Valid(); err != nil {
				return err
			}
		}
		l.Raw(b)
	default:
		str, ok := v.(string)
		if !ok && v != nil {
			return wrongType("a string", v)
		}
		if v != nil {
			if err := checkText(f.Type, str); err != nil {
				return err
			}
		}
		l.String(str)
	}
	return nil
}

func decodeMap(d *Decoder, s *meta.Schema, fields []*meta.Field) (map[string]any, error) {
	rec := map[string]any{}
	for d.Next() {
		f := fieldByNumber(fields, d.Field())
		if f == nil || !f.Stored() {
			d.Skip()
			continue
		}
		var v any
		var err error
		if f.IsList {
			v, err = decodeList(d, s, f)
		} else {
			v, err = decodeValue(d, s, f)
		}
		if err != nil {
			return nil, at(f.Name, err)
		}
		rec[f.Name] = v
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return rec, nil
}

// decodeValue reads the current field as a value of the single-valued
// field f.
func decodeValue(d *Decoder, s *meta.Schema, f *meta.Field) (any, error) {
	var v any
	switch {
	case f.Kind == meta.KindNonModel:
		nm := s.NonModel(f.Type)
		if nm == nil {
			return nil, fmt.Errorf("unknown non-model type %s", f.Type)
		}
		m := d.Message()
		if d.err != nil {
			return nil, d.err
		}
		return decodeMap(&m, s, nm.Fields)
	case f.Kind == meta.KindEnum, f.Type == meta.ID, f.Type == meta.String:
		v = d.String()
	case f.Type == meta.Int, f.Type == meta.AWSTimestamp:
		v = d.Int()
	case f.Type == meta.Float:
		v = d.Float()
	case f.Type == meta.Boolean:
		v = d.Bool()
	default:
		str := d.String()
		if d.err != nil {
			return nil, d.err
		}
		if err := checkText(f.Type, str); err != nil {
			return nil, err
		}
		v = str
	}
	if d.err != nil {
		return nil, d.err
	}
	return v, nil
}

// decodeList reads the current field as a list of f's elements.
func decodeList(d *Decoder, s *meta.Schema, f *meta.Field) ([]any, error) {
	var nm *meta.NonModel
	if f.Kind == meta.KindNonModel {
		if nm = s.NonModel(f.Type); nm == nil {
			return nil, fmt.Errorf("unknown non-model type %s", f.Type)
		}
	}
	l := d.List()
	list := make([]any, l.Len())
	for i := range list {
		var v any
		switch {
		case nm != nil:
			m := l.Message()
			rec, err := decodeMap(&m, s, nm.Fields)
			if err != nil {
				return nil, at("["+strconv.Itoa(i)+"]", err)
			}
			v = rec
		case f.Kind == meta.KindEnum, f.Type == meta.ID, f.Type == meta.String:
			v = l.String()
		case f.Type == meta.Int, f.Type == meta.AWSTimestamp:
			v = l.Int()
		case f.Type == meta.Float:
			v = l.Float()
		case f.Type == meta.Boolean:
			v = l.Bool()
		default:
			str := l.String()
			if str == "" {
				break // a null element
			}
			if err := checkText(f.Type, str); err != nil {
				return nil, at("["+strconv.Itoa(i)+"]", err)
			}
			v = str
		}
		if l.err != nil {
			return nil, l.err
		}
		list[i] = v
	}
	if d.err != nil {
		return nil, d.err
	}
	for i := range list {
		if l.Null(i) {
			list[i] = nil
		}
	}
	return list, nil
}

// checkText reports whether s is a valid value of the AWS scalar typ, as
// the scalar's Parse function says.
// CheckText reports whether s is a valid text of the AWS scalar typ
// (AWSDate, AWSEmail, ...), as EncodeMap checks it; other types are an
// error.
func CheckText(typ, s string) error { return checkText(typ, s) }

func checkText(typ, s string) error {
	var err error
	switch typ {
	case meta.AWSDate:
		_, err = scalar.ParseDate(s)
	case meta.AWSTime:
		_, err = scalar.ParseTime(s)
	case meta.AWSDateTime:
		_, err = scalar.ParseDateTime(s)
	case meta.AWSEmail:
		_, err = scalar.ParseEmail(s)
	case meta.AWSURL:
		_, err = scalar.ParseURL(s)
	case meta.AWSPhone:
		_, err = scalar.ParsePhone(s)
	case meta.AWSIPAddress:
		_, err = scalar.ParseIPAddress(s)
	case meta.AWSJSON:
		_, err = scalar.ParseJSON(s)
	default:
		err = fmt.Errorf("unknown scalar %s", typ)
	}
	return err
}

func wrongType(want string, v any) error {
	return fmt.Errorf("want %s, got %T", want, v)
}

// jsonText returns the text of an AWSJSON value.
func jsonText(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case []byte:
		return t, nil
	case json.RawMessage:
		return t, nil
	}
	return nil, wrongType("JSON text (a string)", v)
}

// toList returns a list value as []any.
func toList(v any) ([]any, error) {
	switch l := v.(type) {
	case []any:
		return l, nil
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, nil
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out, nil
	}
	return nil, wrongType("a list ([]any)", v)
}

// toInt converts the numbers EncodeMap accepts for an integer field. A
// json.Number must be integer text (the wire's form of an integer).
func toInt(v any) (int64, error) {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
	} else if n, ok := scalar.NumberOf(v); !ok {
		return 0, wrongType("an integer", v)
	} else if i, ok := n.Int64(); ok {
		return i, nil
	}
	return 0, fmt.Errorf("%v is not an integer in range", v)
}

// toFloat converts the numbers EncodeMap accepts for a Float field.
func toFloat(v any) (float64, error) {
	n, ok := scalar.NumberOf(v)
	if !ok {
		if j, isNumber := v.(json.Number); isNumber {
			return j.Float64() // the parse error
		}
		return 0, wrongType("a number", v)
	}
	return n.Float64(), nil
}

// fieldByNumber returns the stored field of fields numbered n, or nil.
// Fields of a schema never migrated are numbered by position, which is
// checked first. (Relation fields are not stored and keep their position
// number, which a locked stored field may also have.)
func fieldByNumber(fields []*meta.Field, n int) *meta.Field {
	if n >= 1 && n <= len(fields) && fields[n-1].Stored() && Number(fields, n-1) == n {
		return fields[n-1]
	}
	for i, f := range fields {
		if f.Stored() && Number(fields, i) == n {
			return f
		}
	}
	return nil
}
