//! The fuzz targets' bodies (`native/fuzz/src/lib.rs`) run on stable over their seed corpus,
//! which `native/fuzz/make_seeds.py` writes (deep, large and odd inputs of issue 15, the taint
//! fixtures, the example project): `make test` checks the bodies without cargo-fuzz or nightly.
//! Each body runs on a thread with the 8 MiB stack of a main thread (and of libFuzzer's).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[path = "../../fuzz/src/lib.rs"]
mod bodies;

const STACK_BYTES: usize = 8 << 20;

/// The seed corpus, written once per test binary run.
fn corpus() -> &'static Path {
    static CORPUS: OnceLock<PathBuf> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-seeds-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/make_seeds.py");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        let status = Command::new(&python).arg(&script).arg("--out").arg(&out).status().expect("python3 runs make_seeds.py");
        assert!(status.success(), "{} failed", script.display());
        out
    })
}

fn run_over_seeds(target: &str, body: fn(&[u8])) {
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(corpus().join(target)).unwrap().map(|entry| entry.unwrap().path()).collect();
    seeds.sort();
    assert!(seeds.len() > 100, "the seed corpus is missing: {seeds:?}");
    for seed in seeds {
        let data = std::fs::read(&seed).unwrap();
        let name = seed.file_name().unwrap().to_string_lossy().into_owned();
        let started = std::time::Instant::now();
        let outcome = std::thread::Builder::new().name(name.clone()).stack_size(STACK_BYTES).spawn(move || body(&data)).unwrap().join();
        assert!(outcome.is_ok(), "the {target} body failed on seed {name}");
        println!("{target} {name}: {:.2?}", started.elapsed());
    }
}

#[test]
fn parse_body_holds_on_every_seed() {
    run_over_seeds("parse", bodies::parse);
}

#[test]
fn chunks_body_holds_on_every_seed() {
    run_over_seeds("chunks", bodies::chunks);
}

/// Not yet run here: on the 10,000-deep `a.b.b…` seed the analysis body takes minutes in a
/// debug build (issue 15); `make fuzz` runs it.
#[allow(dead_code)]
const ANALYSIS_BODY_ON_STABLE: fn(&[u8]) = bodies::analysis;
