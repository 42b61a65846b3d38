package scalar

import (
	"strconv"
	"time"
)

// Limits of the AppSync temporal formats.
const (
	// Years have exactly four digits, with a leading '-' before year 0000.
	minYear = -9999
	maxYear = 9999

	// maxOffset is the largest zone offset accepted, in seconds. AppSync
	// does not state a range. ±18:00 is the range of java.time.ZoneOffset,
	// which Amplify Android's temporal types are built on.
	maxOffset = 18 * 3600

	secondsPerDay = 86400
)

// digits returns the n-digit decimal number at s[i:], or ok=false if s is
// too short or a byte there is not a digit.
func digits(s string, i, n int) (v int, ok bool) {
	if i+n > len(s) {
		return 0, false
	}
	for _, c := range []byte(s[i : i+n]) {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int(c)
	}
	return v, true
}

// parseDate parses YYYY-MM-DD or -YYYY-MM-DD at the start of s. It returns
// the date as days since 1970-01-01 and the number of bytes read.
func parseDate(s string) (days int64, n int, reason string) {
	const syntax = "expected YYYY-MM-DD"
	i := 0
	if s != "" && s[0] == '-' {
		i = 1
	}
	if len(s) < i+10 || s[i+4] != '-' || s[i+7] != '-' {
		return 0, 0, syntax
	}
	y, ok1 := digits(s, i, 4)
	m, ok2 := digits(s, i+5, 2)
	d, ok3 := digits(s, i+8, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, syntax
	}
	if i == 1 {
		if y == 0 {
			// Year zero is written 0000. java.time's strict parser also
			// rejects a minus zero.
			return 0, 0, "negative year zero"
		}
		y = -y
	}
	if m < 1 || m > 12 {
		return 0, 0, "month out of range"
	}
	if d < 1 || d > daysIn(y, m) {
		return 0, 0, "day out of range"
	}
	return daysFromCivil(y, m, d), i + 10, ""
}

// parseClock parses hh:mm, hh:mm:ss or hh:mm:ss.f (1 to 9 fractional digits)
// at the start of s. It returns nanoseconds since midnight and the number of
// bytes read.
func parseClock(s string) (ns int64, n int, reason string) {
	if len(s) < 5 || s[2] != ':' {
		return 0, 0, "expected hh:mm"
	}
	h, ok1 := digits(s, 0, 2)
	m, ok2 := digits(s, 3, 2)
	if !ok1 || !ok2 {
		return 0, 0, "expected hh:mm"
	}
	if h > 23 {
		return 0, 0, "hour out of range"
	}
	if m > 59 {
		return 0, 0, "minute out of range"
	}
	sec := int64(h*3600 + m*60)
	n = 5
	if n == len(s) || s[n] != ':' {
		return sec * 1e9, n, ""
	}
	ss, ok := digits(s, n+1, 2)
	if !ok {
		return 0, 0, "expected seconds after hh:mm:"
	}
	if ss > 59 {
		return 0, 0, "second out of range"
	}
	sec += int64(ss)
	n += 3
	if n == len(s) || s[n] != '.' {
		return sec * 1e9, n, ""
	}
	n++
	start := n
	var frac int64
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		if n-start < 9 {
			frac = frac*10 + int64(s[n]-'0')
		}
		n++
	}
	k := n - start
	if k < 1 || k > 9 {
		return 0, 0, "fractional seconds must have 1 to 9 digits"
	}
	for ; k < 9; k++ {
		frac *= 10
	}
	return sec*1e9 + frac, n, ""
}

// parseZone parses a zone designator filling all of s: Z, ±hh:mm or
// ±hh:mm:ss. It returns the offset in seconds east of UTC.
func parseZone(s string) (offset int32, reason string) {
	const syntax = "expected zone offset Z, ±hh:mm or ±hh:mm:ss"
	if s == "Z" {
		return 0, ""
	}
	if len(s) < 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, syntax
	}
	h, ok1 := digits(s, 1, 2)
	m, ok2 := digits(s, 4, 2)
	if !ok1 || !ok2 {
		return 0, syntax
	}
	sec := 0
	if len(s) > 6 {
		var ok bool
		if s[6] != ':' {
			return 0, syntax
		}
		if sec, ok = digits(s, 7, 2); !ok || len(s) != 9 {
			return 0, syntax
		}
	}
	off := h*3600 + m*60 + sec
	if m > 59 || sec > 59 || off > maxOffset {
		return 0, "zone offset out of range"
	}
	if s[0] == '-' {
		off = -off
	}
	return int32(off), ""
}

// isLeap reports whether y is a leap year; it holds for negative
// (astronomical) years too, since Go's % keeps the dividend's sign.
func isLeap(y int) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

// daysIn returns the number of days in month m of year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's days_from_civil algorithm).
func daysFromCivil(y, m, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := yy / 400
	if yy < 0 && yy%400 != 0 {
		era-- // floor division
	}
	yoe := yy - era*400
	mp := int64((m + 9) % 12) // March is 0
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// location returns a fixed zone for a written offset; zero offsets use
// time.UTC so that results compare and print like other UTC times.
func location(offset int32) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", int(offset))
}

// appendYear appends y as four digits, with a leading '-' before year 0000.
func appendYear(b []byte, y int) []byte {
	if y < 0 {
		b = append(b, '-')
		y = -y
	}
	return append2(append2(b, y/100), y%100)
}

// append2 appends v (0 to 99) as two digits.
func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// checkYear panics if y cannot be written as an AppSync year; it guards the
// New constructors, whose callers pass programmatic values.
func checkYear(fn string, y int) {
	if y < minYear || y > maxYear {
		panic("scalar: " + fn + ": year " + strconv.Itoa(y) + " outside [-9999, 9999]")
	}
}
