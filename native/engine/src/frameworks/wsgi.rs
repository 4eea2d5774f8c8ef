//! WSGI applications: a function or `__call__` method with the signature
//! `(environ, start_response)` is an application; `environ` (the CGI variables: path, query
//! string, headers, `wsgi.input`) is a source.

use super::{EntryPoint, EntryPoints, Role, Shared};
use crate::program::{Program, ScopeKind};

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, _shared: &Shared<'_, '_>) {
    for (index, scope) in program.scopes.iter().enumerate() {
        if scope.kind != ScopeKind::Function {
            continue;
        }
        let explicit = usize::from(scope.implicit_receiver);
        let named = &scope.params[explicit.min(scope.params.len())..];
        if named.len() == 2 && named[1].name == "start_response" && !named[0].variadic {
            let mut entry = EntryPoint::new("wsgi");
            entry.params.push((explicit, Role::Source));
            entries.add(index, entry);
        }
    }
}
