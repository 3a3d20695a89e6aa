//! Socket helpers shared by the sidecars, the apps and the stores: loopback addresses, and binding a port with
//! an error that says who wanted it and which flag moves it.

use std::net::SocketAddr;

/// Loopback address for a port (everything binds to loopback unless `--listen-address` says otherwise).
/// A loopback port nothing listens on now (for a port a run template leaves unset, as the Dapr CLI picks one).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "port {port} is already in use, so {app_id} cannot listen on {addr}; stop whatever uses it or pick another port with {flag}"
    )]
    PortInUse {
        /// Who wanted the port: `the checkout sidecar`, `order-processor`.
        app_id: String,
        addr: SocketAddr,
        port: u16,
        flag: String,
    },
    #[error("{app_id} cannot listen on {addr}: {source}")]
    Bind {
        app_id: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// An address a local client can connect to: an unspecified listen address (0.0.0.0, ::) means loopback.
pub fn connectable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// Binds a TCP listener, turning "address in use" into an error that names the port and the flag.
pub async fn bind(app_id: &str, addr: SocketAddr, flag: &str) -> Result<tokio::net::TcpListener, BindError> {
    let listener = bind_std(app_id, addr, flag)?;
    tokio::net::TcpListener::from_std(listener).map_err(|source| BindError::Bind {
        app_id: app_id.to_string(),
        addr,
        source,
    })
}

/// [`bind`] for a listener another runtime will serve: a non-blocking std listener.
pub fn bind_std(app_id: &str, addr: SocketAddr, flag: &str) -> Result<std::net::TcpListener, BindError> {
    let error = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            BindError::PortInUse {
                app_id: app_id.to_string(),
                addr,
                port: addr.port(),
                flag: flag.to_string(),
            }
        } else {
            BindError::Bind {
                app_id: app_id.to_string(),
                addr,
                source,
            }
        }
    };
    let listener = std::net::TcpListener::bind(addr).map_err(error)?;
    listener.set_nonblocking(true).map_err(error)?;
    Ok(listener)
}
