//! WSGI applications: a function or `__call__` method with the signature
//! `(environ, start_response)` is an application; `environ` (the CGI variables: path, query
//! string, headers, `wsgi.input`) is a source.

use super::{EntryPoint, EntryPoints, Role, Shared};
use crate::program::{Program, ScopeKind};

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, _shared: &Shared<'_>) {
    for (index, scope) in program.scopes.iter().enumerate() {
        if scope.kind != ScopeKind::Function {
            continue;
        }
        let explicit = usize::from(scope.implicit_receiver);
        let names: Vec<&str> = scope.params[explicit.min(scope.params.len())..].iter().map(|p| p.name.as_str()).collect();
        if names.len() == 2 && names[1] == "start_response" && !scope.params[explicit].variadic {
            let mut entry = EntryPoint::new("wsgi");
            entry.params.push((explicit, Role::Source));
            entries.add(index, entry);
        }
    }
}
