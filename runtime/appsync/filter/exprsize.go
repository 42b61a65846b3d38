package filter

import "strconv"

// MaxExpressionSize is DynamoDB's limit on the length of a filter or
// condition expression (4 KB). AppSync writes a query's filter input as
// one, and a longer one fails the request
// ("Invalid FilterExpression: Expression size has exceeded the maximum
// allowed size").
const MaxExpressionSize = 4096

// ExpressionSize returns a lower bound of the length of the DynamoDB
// expression AppSync's resolvers write for filter (a valid
// Model<T>FilterInput or ConditionInput value): each condition as
// "(#field op :field)", joined by " AND " and " OR ", "NOT (...)" for not.
// AppSync's placeholders are longer (they carry a suffix per use), so a
// filter this counts over MaxExpressionSize is over it on AppSync too;
// the bound keeps what evaluating a filter on every record of a page may
// cost in proportion to what AppSync accepts.
func ExpressionSize(filter map[string]any) int {
	return objectSize(filter)
}

func objectSize(obj map[string]any) int {
	n, parts := 0, 0
	for k, v := range obj {
		if v == nil {
			continue
		}
		var size int
		switch k {
		case "and", "or":
			list, _ := anyList(v)
			kids := 0
			for _, x := range list {
				o, _ := x.(map[string]any)
				if s := objectSize(o); s > 0 {
					size += s + 2 // the parentheses around it
					kids++
				}
			}
			if kids == 0 {
				continue
			}
			size += (kids - 1) * len(" AND ")
			if k == "or" {
				size += (kids - 1) * (len(" OR ") - len(" AND "))
			}
		case "not":
			o, _ := v.(map[string]any)
			s := objectSize(o)
			if s == 0 {
				continue
			}
			size = s + len("NOT ()")
		default:
			ops, _ := v.(map[string]any)
			ands := 0
			for op, operand := range ops {
				if operand == nil {
					continue
				}
				size += conditionSize(k, op, operand)
				ands++
			}
			if ands == 0 {
				continue
			}
			size += (ands - 1) * len(" AND ")
		}
		n += size
		parts++
	}
	if parts > 1 {
		n += (parts - 1) * len(" AND ")
	}
	return n
}

// conditionSize is the length of one operator's condition on field:
// "(#f op :f)" and its function forms.
func conditionSize(field, op string, operand any) int {
	name, value := 1+len(field), 1+len(field) // #field, :field
	switch op {
	case "eq", "lt", "gt":
		return len("( = )") + name + value
	case "ne", "le", "ge":
		return len("( <> )") + name + value
	case "between":
		return len("( BETWEEN  AND )") + name + 2*value
	case "beginsWith":
		return len("(begins_with(,))") + name + value
	case "contains":
		return len("(contains(,))") + name + value
	case "notContains":
		return len("(NOT contains(,))") + name + value
	case "attributeExists":
		return len("(attribute_exists())") + name
	case "attributeType":
		return len("(attribute_type(,))") + name + value
	case "in", "notIn":
		l, _ := anyList(operand)
		return len("( IN ())") + name + len(l)*(value+len(strconv.Itoa(len(l)))+1)
	case "size":
		ops, _ := operand.(map[string]any)
		n := 0
		for sop, v := range ops {
			if v != nil {
				n += conditionSize(field, sop, v) + len("size()")
			}
		}
		return n
	}
	return len("()") + name + value
}
