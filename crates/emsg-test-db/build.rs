//! Hashes the migration folders, so that a test database template made from other migrations is
//! never used: `EMSG_MIGRATIONS_HASH` names the template.

use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    let root = Path::new("../../migrations");
    println!("cargo:rerun-if-changed=../../migrations");
    let mut files = Vec::new();
    collect(root, &mut files);
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in files {
        file.to_string_lossy().hash(&mut hasher);
        std::fs::read(&file).unwrap_or_default().hash(&mut hasher);
    }
    println!(
        "cargo:rustc-env=EMSG_MIGRATIONS_HASH={:016x}",
        hasher.finish()
    );
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
