package toggle

// Unexported names the external tests check.
var (
	ErrProviderShutdown = errProviderShutdown
	FileProviderName    = fileProviderName
)
