//! Listeners that misbehave for real, for the app-channel faults `hang` and `reset`: a sidecar's call sent
//! here meets a TCP connection that is accepted and never answered, or accepted and reset. The caller's
//! sidecar then sees exactly what daprd would see from such an app, and its timeout policy fires for real.

use std::net::{IpAddr, SocketAddr};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What a [`Blackhole`] does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Holds it open, reading and discarding, until the peer goes away.
    Hang,
    /// Resets it at once (SO_LINGER 0, then close: an RST, not a FIN).
    Reset,
}

/// A listener on a free loopback port; it stops when dropped.
pub struct Blackhole {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Blackhole {
    pub async fn start(ip: IpAddr, behaviour: Behaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                match behaviour {
                    Behaviour::Reset => {
                        let _ = stream.set_zero_linger();
                        drop(stream);
                    }
                    Behaviour::Hang => {
                        tokio::spawn(async move {
                            let mut buf = [0u8; 4096];
                            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                        });
                    }
                }
            }
        });
        Ok(Self { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// How long the test waits to see a hang answer (it must not).
    const PATIENCE: Duration = Duration::from_millis(300);
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    #[tokio::test]
    async fn a_reset_is_an_rst_and_a_hang_never_answers() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let reset = Blackhole::start(ip, Behaviour::Reset).await.unwrap();
        let mut s = TcpStream::connect(reset.addr()).await.unwrap();
        let _ = s.write_all(b"POST /orders HTTP/1.1\r\n\r\n").await;
        let mut buf = [0u8; 16];
        let read = s.read(&mut buf).await;
        assert!(
            matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "{read:?}"
        );

        let hang = Blackhole::start(ip, Behaviour::Hang).await.unwrap();
        let mut s = TcpStream::connect(hang.addr()).await.unwrap();
        s.write_all(b"POST /orders HTTP/1.1\r\n\r\n").await.unwrap();
        let answered = tokio::time::timeout(PATIENCE, s.read(&mut buf)).await;
        assert!(answered.is_err(), "no answer: {answered:?}");
    }
}
