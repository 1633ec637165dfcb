//! The client side of the loopback test bed: a ureq resolver that needs no thread for an IP
//! address, shared by the examples that fetch from [`crate::http_server`].

use std::net::{IpAddr, SocketAddr};

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// ureq's default resolver, with a timeout set, resolves on a new thread for every request (so
/// it can give up on slow DNS), even for `127.0.0.1` and even when a pooled connection is then
/// reused: a thread spawned per request, costly at thousands of requests per second, and detached,
/// so it can still be alive when the summary counts threads. An IP address needs no lookup: it is
/// returned at once; host names still go to ureq's resolver.
#[derive(Debug, Default)]
pub struct LiteralFirst {
    dns: DefaultResolver,
}

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.authority().and_then(|authority| {
            let host = authority.host().trim_start_matches('[').trim_end_matches(']');
            let ip: IpAddr = host.parse().ok()?;
            let default_port = if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            };
            Some(SocketAddr::new(ip, authority.port_u16().unwrap_or(default_port)))
        });
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.dns.resolve(uri, config, timeout),
        }
    }
}
