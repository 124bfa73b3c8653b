package s3bucket

// CheckEndpoint checks an S3 endpoint URL as Open does, for a configuration
// validated before anything is opened: http(s), no path, and plain http to
// this machine only, since the requests carry credentials.
func CheckEndpoint(raw string) error { return checkEndpoint(raw) }
