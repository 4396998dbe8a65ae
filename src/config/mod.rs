//! The config layer: host config files as documents edited in place, and the hosts
//! that own them.
//!
//! JSON/JSONC, TOML and YAML documents whose edits keep every byte outside the edited entry,
//! and the host table (where each host keeps its servers, in which format, and how its
//! entries are shaped; `doc` converts them to one shape). Imports only `base`. Planning an import is `ops`' job; detecting secrets is `scan`'s.

pub mod doc;
pub mod hosts;
pub mod jsonfile;
pub mod text;
pub mod tomlfile;
pub mod yamlfile;
