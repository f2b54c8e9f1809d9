//! Prints the default policy as a Markdown table (the catalogue rows of docs/errors.md).

fn main() {
    for r in redial_policy::Policy::default().explain() {
        println!(
            "| {} | `{}` | {} | {} | {} | |",
            r.kind, r.name, r.action, r.side_effect, r.max_attempts
        );
    }
}
