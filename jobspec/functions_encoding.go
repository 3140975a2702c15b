package jobspec

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// stringFunc makes a function of one string returning a string.
func stringFunc(impl func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			out, err := impl(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			return cty.StringVal(out), nil
		},
	})
}

// encodingFunctions are Nomad's encoding and hashing functions, written on
// the standard library.
func encodingFunctions() map[string]function.Function {
	hexOf := func(sum []byte) string { return hex.EncodeToString(sum) }
	return map[string]function.Function{
		"base64encode": stringFunc(func(s string) (string, error) {
			return base64.StdEncoding.EncodeToString([]byte(s)), nil
		}),
		"base64decode": stringFunc(func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return "", fmt.Errorf("failed to decode base64 data %q: %w", s, err)
			}
			if !utf8.Valid(b) {
				return "", fmt.Errorf("the decoded base64 data is not valid UTF-8")
			}
			return string(b), nil
		}),
		"urlencode": stringFunc(func(s string) (string, error) { return url.QueryEscape(s), nil }),
		"md5":       stringFunc(func(s string) (string, error) { v := md5.Sum([]byte(s)); return hexOf(v[:]), nil }),
		"sha1":      stringFunc(func(s string) (string, error) { v := sha1.Sum([]byte(s)); return hexOf(v[:]), nil }),
		"sha256":    stringFunc(func(s string) (string, error) { v := sha256.Sum256([]byte(s)); return hexOf(v[:]), nil }),
		"sha512":    stringFunc(func(s string) (string, error) { v := sha512.Sum512([]byte(s)); return hexOf(v[:]), nil }),
	}
}
