//! Where the rules come from: the specification's repository, the commit they were read at, and
//! the paths of its pages, which every finding cites.

/// The public repository that publishes the specification.
pub const REPOSITORY: &str = "hmrc/txm-fph-specification";
/// The commit of [`REPOSITORY`] the rules were written from.
pub const COMMIT: &str = "5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb";
/// The version of the specification at [`COMMIT`].
pub const VERSION: &str = "3.3";

/// General rules: how to choose a connection method.
pub const CONNECTION_METHODS: &str = "source/connection-method/index.html.md.erb";
/// US-ASCII, key-value and list encoding, missing data, placeholders.
pub const GETTING_IT_RIGHT: &str = "source/getting-it-right/index.html.md.erb";
/// What changed between versions, including what sending an unneeded header means.
pub const CHANGE_LOG: &str = "source/change-log/index.html.md.erb";
