//! The completions and man pages the packages install come from the CLI's own definition:
//! every visible subcommand is in them, the hidden generators are not.

use std::process::Command;

fn kb(args: &[&str]) -> String {
    let out = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
        .args(args)
        .output()
        .expect("keybroker");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    let bash = kb(&["completions", "bash"]);
    let zsh = kb(&["completions", "zsh"]);
    let fish = kb(&["completions", "fish"]);
    assert!(bash.contains("complete -F _keybroker"), "{bash}");
    assert!(zsh.starts_with("#compdef keybroker"), "{zsh}");
    assert!(fish.contains("complete -c keybroker"), "{fish}");
    for sub in ["import", "doctor", "repair", "servers", "bridge", "audit"] {
        for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
            assert!(text.contains(sub), "{shell} completes `{sub}`");
        }
    }
}

#[test]
fn man_pages_are_written_for_the_cli_and_each_visible_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    kb(&["man", "--dir", &dir.path().to_string_lossy()]);
    let page = std::fs::read_to_string(dir.path().join("keybroker.1")).expect("keybroker.1");
    assert!(page.contains(".TH keybroker 1"), "{page}");
    assert!(page.contains("doctor"), "{page}");
    let doctor =
        std::fs::read_to_string(dir.path().join("keybroker-doctor.1")).expect("doctor page");
    assert!(doctor.contains("\\-\\-json"), "{doctor}");
    assert!(
        !dir.path().join("keybroker-man.1").exists(),
        "hidden commands get no page"
    );
    assert!(!dir.path().join("keybroker-completions.1").exists());
}
