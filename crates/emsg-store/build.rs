//! The migrations are embedded at build time: a new or changed migration rebuilds the crate.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
