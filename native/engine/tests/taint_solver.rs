//! The summary solver on generated multi-file programs: call chains deeper than any round
//! count (40–48 calls across three files), recursive components of 1–5 functions, a class
//! hierarchy with an override, and random edits (sanitisers added and removed, lines inserted
//! above everything, a callee renamed, a file removed, a class's bases changed). After every
//! edit the incremental findings, steps included, equal a from-scratch analysis.

use std::path::Path;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::taint::Finding;
use flowsight_engine::workspace::Workspace;
use proptest::prelude::*;

/// What a generated program is made of; edits flip its switches.
#[derive(Clone, Debug)]
struct Shape {
    depth: usize,
    /// Chain links (by index) that sanitise what they pass on.
    sanitised_links: Vec<bool>,
    /// Sizes of the recursive components; whether each one's exit sanitises.
    rings: Vec<(usize, bool)>,
    /// Blank lines inserted at the top of each file (moves every place below).
    padding: [usize; 3],
    /// The chain's last link renamed: its caller's call resolves nowhere.
    renamed_tail: bool,
    /// `helpers.py` (the recursive components) present.
    helpers_present: bool,
    /// `Child` derives from `Base` (else from `object`: its `handle` is its own only).
    child_derives: bool,
    /// `Child.handle` overrides `Base.handle` with a sanitising version.
    child_overrides: bool,
}

impl Shape {
    fn files(&self) -> Vec<(&'static str, String)> {
        let mut chain = "\n".repeat(self.padding[0]) + "import os\nimport shlex\n\n\n";
        // Links 0..depth/2 live in chain.py, the rest in more.py; link k calls link k-1.
        let half = self.depth / 2;
        let mut more = "\n".repeat(self.padding[1]) + &format!("import shlex\nfrom chain import link_{}\n\n\n", half - 1);
        for link in 0..self.depth {
            let name = if link + 1 == self.depth && self.renamed_tail { format!("renamed_{link}") } else { format!("link_{link}") };
            let passed = if self.sanitised_links[link] { "shlex.quote(command)" } else { "command" };
            let body = if link == 0 { format!("    os.system({passed})\n") } else { format!("    link_{}({passed})\n", link - 1) };
            let function = format!("def {name}(command):\n{body}\n\n");
            if link < half {
                chain.push_str(&function);
            } else {
                more.push_str(&function);
            }
        }
        chain.push_str("class Base:\n    def handle(self, value):\n        return value\n\n\n");
        let bases = if self.child_derives { "Base" } else { "object" };
        chain.push_str(&format!("class Child({bases}):\n"));
        if self.child_overrides {
            chain.push_str("    def handle(self, value):\n        return shlex.quote(value)\n");
        } else {
            chain.push_str("    def other(self):\n        return 1\n");
        }
        let mut helpers = "\n".repeat(self.padding[2]) + "import shlex\n\n\n";
        for (ring, &(size, sanitised_exit)) in self.rings.iter().enumerate() {
            // Member 0 is the component's only exit; the others always call on.
            for member in 0..size {
                let next = (member + 1) % size;
                let call = format!("ring_{ring}_{next}(value + '!', count - 1)");
                if member == 0 {
                    let exit = if sanitised_exit { "shlex.quote(value)" } else { "value" };
                    helpers.push_str(&format!(
                        "def ring_{ring}_0(value, count):\n    if count > 0:\n        return {call}\n    return {exit}\n\n\n"
                    ));
                } else {
                    helpers.push_str(&format!("def ring_{ring}_{member}(value, count):\n    return {call}\n\n\n"));
                }
            }
        }
        let mut views =
            format!("import os\nfrom flask import Flask, request\nfrom chain import Child\nfrom more import link_{}\n", self.depth - 1);
        if self.helpers_present {
            for (ring, &(size, _)) in self.rings.iter().enumerate() {
                views.push_str(&format!("from helpers import ring_{ring}_{}\n", size - 1));
            }
        }
        views.push_str("\napp = Flask(__name__)\n\n\n@app.route('/chain')\ndef chain_view():\n");
        views.push_str(&format!("    link_{}(request.args['q'])\n\n\n", self.depth - 1));
        views.push_str("@app.route('/child')\ndef child_view():\n    os.system(Child().handle(request.args['q']))\n\n\n");
        for (ring, &(size, _)) in self.rings.iter().enumerate() {
            views.push_str(&format!(
                "@app.route('/ring{ring}')\ndef ring_view_{ring}():\n    os.system(ring_{ring}_{}(request.args['q'], 3))\n\n\n",
                size - 1
            ));
        }
        let mut files = vec![("chain.py", chain), ("more.py", more), ("views.py", views)];
        if self.helpers_present {
            files.push(("helpers.py", helpers));
        }
        files
    }
}

#[derive(Clone, Debug)]
enum Edit {
    ToggleLink(usize),
    ToggleRingExit(usize),
    Pad(usize, usize),
    ToggleRename,
    ToggleHelpers,
    ToggleChildBases,
    ToggleOverride,
}

impl Edit {
    fn apply(&self, shape: &mut Shape) {
        match *self {
            Edit::ToggleLink(link) => {
                let link = link % shape.depth;
                shape.sanitised_links[link] = !shape.sanitised_links[link];
            }
            Edit::ToggleRingExit(ring) => {
                let ring = ring % shape.rings.len();
                shape.rings[ring].1 = !shape.rings[ring].1;
            }
            Edit::Pad(file, lines) => shape.padding[file % 3] = lines,
            Edit::ToggleRename => shape.renamed_tail = !shape.renamed_tail,
            Edit::ToggleHelpers => shape.helpers_present = !shape.helpers_present,
            Edit::ToggleChildBases => shape.child_derives = !shape.child_derives,
            Edit::ToggleOverride => shape.child_overrides = !shape.child_overrides,
        }
    }
}

fn shape_strategy() -> impl Strategy<Value = Shape> {
    (40usize..=48, proptest::collection::vec((1usize..=5, any::<bool>()), 1..=3), any::<bool>(), any::<bool>()).prop_flat_map(
        |(depth, rings, child_derives, child_overrides)| {
            proptest::collection::vec(proptest::bool::weighted(0.05), depth).prop_map(move |sanitised_links| Shape {
                depth,
                sanitised_links,
                rings: rings.clone(),
                padding: [0; 3],
                renamed_tail: false,
                helpers_present: true,
                child_derives,
                child_overrides,
            })
        },
    )
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (0usize..48).prop_map(Edit::ToggleLink),
        2 => (0usize..3).prop_map(Edit::ToggleRingExit),
        2 => (0usize..3, 0usize..4).prop_map(|(file, lines)| Edit::Pad(file, lines)),
        1 => Just(Edit::ToggleRename),
        1 => Just(Edit::ToggleHelpers),
        1 => Just(Edit::ToggleChildBases),
        1 => Just(Edit::ToggleOverride),
    ]
}

fn load(workspace: &mut Workspace, shape: &Shape, version: i64) {
    let files = shape.files();
    let present: Vec<&str> = files.iter().map(|(path, _)| *path).collect();
    for path in workspace.files() {
        if !present.contains(&path.as_str()) {
            workspace.remove_file(&path).expect("a loaded file can be removed");
        }
    }
    for (path, text) in files {
        workspace.update_file(path, text, Some(version));
    }
}

fn from_scratch(shape: &Shape, rules: &RuleSet) -> Vec<Finding> {
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    load(&mut workspace, shape, 0);
    workspace.analyze_taint(rules)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch_on_deep_chains_recursion_and_hierarchies(
        shape in shape_strategy(),
        edits in proptest::collection::vec(edit_strategy(), 1..7),
    ) {
        let rules = RuleSet::builtin();
        let mut shape = shape;
        let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
        load(&mut workspace, &shape, 0);
        let first = workspace.analyze_taint(&rules);
        // The chain's finding is there unless a link sanitises: no depth loses it.
        let chain_found = first.iter().any(|f| f.sink.path == "chain.py" && f.steps.iter().any(|s| s.location.path == "views.py"));
        prop_assert_eq!(chain_found, !shape.sanitised_links.iter().any(|&s| s));
        prop_assert_eq!(workspace.last_analysis().unfinished, false);
        for (version, edit) in edits.iter().enumerate() {
            edit.apply(&mut shape);
            load(&mut workspace, &shape, version as i64 + 1);
            let incremental = workspace.analyze_taint(&rules);
            prop_assert_eq!(&incremental, &from_scratch(&shape, &rules), "after {:?}", edit);
        }
    }
}

#[test]
fn a_ring_whose_every_exit_sanitises_gives_no_finding_and_one_that_does_not_gives_one() {
    let rules = RuleSet::builtin();
    let shape = Shape {
        depth: 40,
        sanitised_links: vec![false; 40],
        rings: vec![(5, true), (3, false)],
        padding: [0; 3],
        renamed_tail: false,
        helpers_present: true,
        child_derives: true,
        child_overrides: true,
    };
    let findings = from_scratch(&shape, &rules);
    let ring_sinks: Vec<usize> = findings.iter().filter(|f| f.sink.path == "views.py").map(|f| f.sink.start_line + 1).collect();
    let views = &shape.files()[2].1;
    let line_of = |needle: &str| views.lines().position(|line| line.contains(needle)).unwrap() + 1;
    // ring 0 (sanitised exit) is safe; ring 1 and the child's sanitising override: ring 1 only.
    assert_eq!(ring_sinks, vec![line_of("ring_1_2(")]);
    assert!(findings.iter().any(|f| f.sink.path == "chain.py"));
}
