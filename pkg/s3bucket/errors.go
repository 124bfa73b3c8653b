package s3bucket

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// What went wrong, for errors.Is; an *Error wraps one of them (or none, for
// a failure of the network or the server).
var (
	ErrNotFound       = errors.New("no such object")
	ErrNoBucket       = errors.New("no such bucket")
	ErrAccessDenied   = errors.New("access denied")
	ErrCredentials    = errors.New("AWS credentials missing or refused")
	ErrConfig         = errors.New("bad AWS settings")
	ErrPrecondition   = errors.New("precondition failed: the object changed since it was read (another writer won the race)")
	ErrRegion         = errors.New("wrong region for the bucket")
	ErrNotImplemented = errors.New("not implemented by this S3 server")
	ErrTooLarge       = errors.New("object too large")
	ErrTooMany        = errors.New("too many objects")
)

// credentialSources says where Open looks, for messages.
const credentialSources = "the AWS SDK reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, " +
	"else AWS_PROFILE in the shared files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/config and ~/.aws/credentials), " +
	"else AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (GitHub OIDC, as aws-actions/configure-aws-credentials sets them), " +
	"else a container or instance role"

// configSources says what LoadConfig reads, for messages.
const configSources = "the AWS SDK reads AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/config and ~/.aws/credentials), AWS_CA_BUNDLE and the other AWS_* variables"

// Error is a failed S3 operation on a bucket, or on one key of it. It never
// holds credentials: the SDK's errors name neither the secret nor the
// signature.
type Error struct {
	// Op is the S3 operation (GetObject, PutObject, ListObjectsV2,
	// DeleteObjects…) or the step of Open (LoadConfig, RetrieveCredentials).
	Op     string
	Bucket string
	Key    string // "" for a bucket-wide operation
	// Kind is one of the sentinels above, or nil.
	Kind error
	// Detail is a hint of what to fix, if there is one.
	Detail string
	// Err is the SDK's error, if any.
	Err error
}

func (e *Error) Error() string {
	var s strings.Builder
	s.WriteString(e.Op + " s3://" + e.Bucket)
	if e.Key != "" {
		s.WriteString("/" + e.Key)
	}
	s.WriteString(": ")
	switch {
	case e.Kind != nil:
		s.WriteString(e.Kind.Error())
		if e.Detail != "" {
			s.WriteString("; " + e.Detail)
		}
		if e.Err != nil {
			s.WriteString(" (" + summary(e.Err) + ")")
		}
	case e.Err != nil:
		// An answer of no known kind: the server's own words, not the
		// SDK's wrapping of them.
		var ae smithy.APIError
		s.WriteString(summary(e.Err))
		if errors.As(e.Err, &ae) && ae.ErrorMessage() != "" {
			s.WriteString(": " + ae.ErrorMessage())
		}
	}
	return s.String()
}

func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// summary is an SDK error in short: the server's status, code and request
// id when it answered, else the error itself.
func summary(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	s := "server said " + ae.ErrorCode()
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		s = fmt.Sprintf("server said HTTP %d %s", re.HTTPStatusCode(), ae.ErrorCode())
		if re.ServiceRequestID() != "" {
			s += ", request id " + re.ServiceRequestID()
		}
	}
	return s
}

// fail turns the SDK's error for op on key into an *Error of the right
// Kind. It decides from the S3 error code and the status, never from the
// server's message.
func (b *Bucket) fail(op, key string, err error) error {
	code, status, header := "", 0, http.Header(nil)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
		if re.Response != nil {
			header = re.Response.Header
		}
	}
	e := &Error{Op: op, Bucket: b.loc.Bucket, Key: key, Err: err, Kind: kindOf(code, status)}
	b.explain(e, header)
	return e
}

// kindOf classifies an S3 error code, or the status of an answer without
// one (HEAD has no body).
func kindOf(code string, status int) error {
	switch code {
	case "NoSuchKey", "NotFound":
		return ErrNotFound
	case "NoSuchBucket":
		return ErrNoBucket
	case "AccessDenied", "AllAccessDisabled":
		return ErrAccessDenied
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired":
		return ErrCredentials
	case "PreconditionFailed", "ConditionalRequestConflict":
		return ErrPrecondition
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		return ErrRegion
	case "NotImplemented":
		return ErrNotImplemented
	}
	if code != "" {
		// A code of the server's own (versitygw answers an unknown access
		// key with 404 XAdminUserNotFound): no kind is better than a
		// wrong one, such as "no such object".
		return nil
	}
	switch status { // a HEAD's answer has no body, so no code
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusForbidden:
		return ErrAccessDenied
	case http.StatusPreconditionFailed:
		return ErrPrecondition
	case http.StatusMovedPermanently:
		return ErrRegion
	case http.StatusNotImplemented:
		return ErrNotImplemented
	}
	return nil
}

// permission is the IAM action op needs.
func permission(op string) string {
	switch op {
	case "GetObject", "HeadObject":
		return "s3:GetObject"
	case "PutObject":
		return "s3:PutObject"
	case "ListObjectsV2":
		return "s3:ListBucket"
	case "DeleteObject", "DeleteObjects":
		return "s3:DeleteObject"
	}
	return ""
}

// explain sets the hint for e's Kind.
func (b *Bucket) explain(e *Error, header http.Header) {
	switch e.Kind {
	case ErrNoBucket:
		e.Detail = fmt.Sprintf("no bucket %q at %s: check --s3-url (and the endpoint and region)", e.Bucket, b.server())
	case ErrAccessDenied:
		p := permission(e.Op)
		if p == "" {
			return
		}
		resource := "arn:aws:s3:::" + e.Bucket
		if p != "s3:ListBucket" {
			resource += "/" + b.loc.Key("*")
		}
		e.Detail = fmt.Sprintf("the credentials need %s on %s", p, resource)
		if e.Op == "GetObject" || e.Op == "HeadObject" {
			// AWS hides whether a key exists from whoever may not list.
			e.Detail += " (and s3:ListBucket on arn:aws:s3:::" + e.Bucket + ", without which a missing object is refused rather than not found)"
		}
	case ErrCredentials:
		e.Detail = credentialSources
	case ErrRegion:
		e.Detail = fmt.Sprintf("the requests are signed for region %s", b.region)
		if r := header.Get("X-Amz-Bucket-Region"); r != "" {
			e.Detail += fmt.Sprintf(" but the bucket is in %s: set AWS_REGION=%s", r, r)
		} else {
			e.Detail += ": set AWS_REGION to the bucket's"
		}
	}
}

// server names the endpoint, for messages.
func (b *Bucket) server() string {
	if b.endpoint == "" {
		return "AWS"
	}
	return b.endpoint
}
