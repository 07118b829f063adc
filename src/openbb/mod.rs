//! Everything Workspace-specific: widget types, answer shapes, widgets.json/apps.json and the
//! rules Workspace applies to them.

pub mod catalog;
pub mod rules;
pub mod shape;
pub mod types;
