//! `cargo run -p tachyon-codegen [SHARED_DIR]`: regenerates tachyon-proto's typed
//! messages from `SHARED_DIR` (default: `../shared` beside the workspace).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = tachyon_codegen::workspace_root();
    let root = root.canonicalize().unwrap_or(root);
    let shared = std::env::args_os()
        .nth(1)
        .map_or_else(|| root.join("../shared"), PathBuf::from);
    let files = match tachyon_codegen::generate(&shared) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("tachyon-codegen: {error}");
            return ExitCode::FAILURE;
        }
    };
    for (path, source) in files {
        let path = root.join(path);
        if let Some(dir) = path.parent() {
            if let Err(error) = std::fs::create_dir_all(dir) {
                eprintln!("tachyon-codegen: {}: {error}", dir.display());
                return ExitCode::FAILURE;
            }
        }
        if let Err(error) = std::fs::write(&path, source) {
            eprintln!("tachyon-codegen: {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
