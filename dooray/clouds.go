package dooray

// API base URLs of the Dooray! clouds. The tenant web host ({tenant}.dooray.com)
// serves only the UI, so the base URL is always one of these (or a test server)
// and always comes from configuration.
const (
	BaseURLCommercial     = "https://api.dooray.com"
	BaseURLPublic         = "https://api.gov-dooray.com"
	BaseURLPublicIntranet = "https://api.gov-dooray.co.kr"
	BaseURLFinance        = "https://api.dooray.co.kr"
)
