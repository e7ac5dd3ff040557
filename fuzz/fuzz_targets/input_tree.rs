//! Fuzzes the input side: each input is decoded into a function folder of files, folders and
//! links (inside the folder, to itself, out of it, to the host, dangling, to a device or a
//! FIFO) with odd names and modes, and built in-process. The invariants: nothing from outside
//! the folder is in the zip, the input tree is unchanged, the build either succeeds or fails
//! with an input error, and no temporary file is left in the output folder.
#![no_main]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use lamina::config::{Command, Config};
use lamina::model::{Arch, Compression, ShakeMode, Upload};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = ["a", "lib", "node_modules", "x y", "ünï", ".hidden", "-dash", "b.js"];
const TARGETS: [&str; 9] = [
    "a", ".", "..", "../..", "OUTSIDE", "OUTSIDE/secret", "/etc/hostname", "/dev/zero", "FIFO",
];

fn listing(dir: &Path) -> Vec<(PathBuf, u64, u32)> {
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let Ok(entry) = entry else { continue };
        let Ok(meta) = entry.path().symlink_metadata() else { continue };
        all.push((entry.path().to_path_buf(), meta.len(), meta.permissions().mode()));
    }
    all
}

fuzz_target!(|data: &[u8]| {
    let temp = tempfile::tempdir().unwrap();
    let base = temp.path().canonicalize().unwrap();
    let root = base.join("fn");
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "SECRET-OUTSIDE").unwrap();
    let fifo = base.join("fifo");
    let _ = std::process::Command::new("mkfifo").arg(&fifo).status();
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("package.json"), r#"{"name":"fn"}"#).unwrap();
    std::fs::write(root.join("index.js"), "exports.handler = async () => 1;\n").unwrap();
    let mut folders = vec![root.clone()];
    for op in data.chunks(3) {
        let [kind, name, arg] = [op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0)];
        let parent = folders[arg as usize % folders.len()].clone();
        let path = parent.join(NAMES[name as usize % NAMES.len()]);
        if path.symlink_metadata().is_ok() {
            continue;
        }
        match kind % 3 {
            0 => {
                std::fs::write(&path, vec![b'x'; arg as usize * 7]).unwrap();
                let mode = [0o644, 0o755, 0o600, 0o000][kind as usize / 3 % 4];
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            1 => {
                std::fs::create_dir(&path).unwrap();
                folders.push(path);
            }
            _ => {
                let target = TARGETS[arg as usize % TARGETS.len()]
                    .replace("OUTSIDE", outside.to_str().unwrap())
                    .replace("FIFO", fifo.to_str().unwrap());
                symlink(target, &path).unwrap();
            }
        }
    }
    let before = listing(&root);
    let out = base.join("out");
    let config = Config {
        command: Command::Build,
        paths: vec![root.clone()],
        handler: None,
        runtime: None,
        arch: Arch::X86_64,
        out: out.clone(),
        shake: ShakeMode::Deps,
        drop_runtime_sdk: false,
        site_packages: None,
        compression: Compression::Fast,
        cache: None,
        upload: Upload::Direct,
        smoke: false,
        smoke_event: None,
        smoke_env: Vec::new(),
        smoke_timeout: 60,
        layers: None,
        compile: false,
        strip: false,
        allow_outside: Vec::new(),
    };
    let result = lamina::run(&config);
    assert_eq!(before, listing(&root), "the input changed");
    match result {
        Err(_) => assert!(!out.exists(), "a failed build wrote {out:?}"),
        Ok(_) => {
            for (path, _, _) in listing(&out) {
                let name = path.file_name().unwrap().to_string_lossy();
                assert!(
                    !name.starts_with(".lamina-") || name == ".lamina-output",
                    "left {path:?}"
                );
            }
            let file = std::fs::File::open(out.join("fn.zip")).unwrap();
            let mut archive = zip::ZipArchive::new(file).unwrap();
            for index in 0..archive.len() {
                let mut entry = archive.by_index(index).unwrap();
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut text).unwrap();
                assert!(
                    !String::from_utf8_lossy(&text).contains("SECRET-OUTSIDE"),
                    "an outside file shipped"
                );
            }
        }
    }
});
