// Package cachix reads pins and cache information from the Cachix API
// (or from a file holding the same JSON).
package cachix

// Pin is one entry of GET /api/v1/cache/NAME/pin, as Cachix sends it.
type Pin struct {
	Name         string   `json:"name"`
	CreatedOn    string   `json:"createdOn,omitempty"`
	LastRevision Revision `json:"lastRevision"`
	// NoLastRevision tells that lastRevision was absent or null: Cachix has
	// the name but no store path pinned under it. The decoders set it; it is
	// never sent.
	NoLastRevision bool `json:"-"`
}

// Revision is the current target of a pin.
type Revision struct {
	StorePath string   `json:"storePath"`
	CreatedOn string   `json:"createdOn,omitempty"`
	Revision  int      `json:"revision"`
	Artifacts []string `json:"artifacts"`
}

// CacheInfo is the part of GET /api/v1/cache/NAME that a bundle needs.
type CacheInfo struct {
	Name                       string   `json:"name"`
	URI                        string   `json:"uri"`
	IsPublic                   bool     `json:"isPublic"`
	PublicSigningKeys          []string `json:"publicSigningKeys"`
	GithubUsername             string   `json:"githubUsername,omitempty"`
	Permission                 string   `json:"permission,omitempty"`
	PreferredCompressionMethod string   `json:"preferredCompressionMethod,omitempty"`
}
