//! The parse steps alone, on one thread, over every `.py` file under a directory: tree-sitter's
//! parse, the conversion to a `SyntaxTree`, the freeing of tree-sitter's tree, each on this
//! thread's CPU clock (the best of `--rounds`, default 3), with the trees' node count and heap
//! bytes. For measuring `syntax/tree.rs` without the rest of a scan:
//! `cargo run --release -p flowsight-engine --example convert -- DIR [--rounds N]`.

use flowsight_engine::parse::parse_python;
use flowsight_engine::syntax::tree::SyntaxTree;
use std::path::{Path, PathBuf};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn cpu_seconds() -> f64 {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9
}

fn python_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            python_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "py") {
            out.push(path);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().expect("usage: convert DIR [--rounds N]");
    let rounds: usize = args.iter().position(|arg| arg == "--rounds").and_then(|at| args.get(at + 1)?.parse().ok()).unwrap_or(3);
    let mut paths = Vec::new();
    python_files(Path::new(dir), &mut paths);
    let texts: Vec<String> =
        paths.iter().filter_map(|path| std::fs::read(path).ok()).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let (mut parse, mut convert, mut free) = (f64::MAX, f64::MAX, f64::MAX);
    let (mut nodes, mut heap) = (0, 0);
    for _ in 0..rounds {
        let start = cpu_seconds();
        let trees: Vec<_> = texts.iter().map(|text| parse_python(text, None)).collect();
        let parsed = cpu_seconds();
        let converted: Vec<SyntaxTree> =
            trees.iter().zip(&texts).map(|(tree, text)| SyntaxTree::from_tree_sitter(tree, text.as_bytes())).collect();
        let done = cpu_seconds();
        drop(trees);
        let freed = cpu_seconds();
        parse = parse.min(parsed - start);
        convert = convert.min(done - parsed);
        free = free.min(freed - done);
        nodes = converted.iter().map(SyntaxTree::node_count).sum();
        heap = converted.iter().map(SyntaxTree::heap_bytes).sum();
    }
    println!(
        "{} files, {:.1} MB, {nodes} nodes, trees {:.1} MB ({:.1} B/node); cpu: tree-sitter {parse:.3}s conversion {convert:.3}s freeing {free:.3}s",
        texts.len(),
        bytes as f64 / 1e6,
        heap as f64 / 1e6,
        heap as f64 / nodes as f64
    );
}
