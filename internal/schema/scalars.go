package schema

import (
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// validateScalar checks a literal (a @default value) against an AWS
// scalar's wire format, with the same parsers the runtime uses.
func validateScalar(typ, v string) error {
	var err error
	switch typ {
	case meta.AWSDate:
		_, err = scalar.ParseDate(v)
	case meta.AWSTime:
		_, err = scalar.ParseTime(v)
	case meta.AWSDateTime:
		_, err = scalar.ParseDateTime(v)
	case meta.AWSTimestamp:
		_, err = scalar.ParseTimestamp(v)
	case meta.AWSJSON:
		_, err = scalar.ParseJSON(v)
	case meta.AWSEmail:
		_, err = scalar.ParseEmail(v)
	case meta.AWSURL:
		_, err = scalar.ParseURL(v)
	case meta.AWSPhone:
		_, err = scalar.ParsePhone(v)
	case meta.AWSIPAddress:
		_, err = scalar.ParseIPAddress(v)
	}
	return err
}
