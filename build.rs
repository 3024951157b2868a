//! Rebuilds when a migration changes: `embed_migrations!` (src/storage) reads `migrations/` at
//! compile time, and cargo does not watch those files unless told to.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
