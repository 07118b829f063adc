//! Shaping an upstream answer into what a widget needs, as declared in YAML: read the body
//! (`format`), pick the records (`select`), pick and rename fields per record (`fields`), and
//! build the final value from templates (`output`, `template`).

pub mod fields;
pub mod format;
pub mod rows;
pub mod tree;
