//! The streaming half of CRI `Exec`: the call returns a URL on containerd's streaming server
//! (kubelet's remotecommand protocol), which a client opens as a websocket with the
//! `v4.channel.k8s.io` subprotocol. Every binary message starts with its channel: 0 stdin,
//! 1 stdout, 2 stderr, 3 the error channel (a JSON `Status` giving the exit code when the
//! process is done), 4 terminal resize.

use std::net::TcpStream;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

/// How long the stream may stay silent before the test fails (a hang guard).
const READ_LIMIT: Duration = Duration::from_secs(60);

/// What a streamed exec produced.
#[derive(Debug, Default)]
pub struct Streamed {
    pub stdout: String,
    pub stderr: String,
    /// The exit code from the error channel's `Status` (0 for "Success").
    pub exit_code: Option<i32>,
    /// The error channel's text, verbatim.
    pub status: String,
}

/// Opens `url` (from `ExecResponse`), sends `stdin` (if any) on channel 0, and reads every
/// channel until the server closes the stream.
pub fn exec(url: &str, stdin: Option<&[u8]>) -> Streamed {
    let ws_url = url.replacen("http://", "ws://", 1);
    let mut request = ws_url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v4.channel.k8s.io".parse().unwrap(),
    );
    let host = request.uri().authority().unwrap().as_str().to_string();
    let tcp = TcpStream::connect(&host).unwrap();
    tcp.set_read_timeout(Some(READ_LIMIT)).unwrap();
    let (mut socket, response) = tungstenite::client(request, tcp)
        .unwrap_or_else(|e| panic!("websocket handshake with {url}: {e}"));
    assert_eq!(
        response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok()),
        Some("v4.channel.k8s.io"),
        "the streaming server chose another protocol"
    );
    if let Some(input) = stdin {
        let mut frame = vec![0u8];
        frame.extend_from_slice(input);
        socket.send(Message::binary(frame)).unwrap();
    }
    let mut out = Streamed::default();
    loop {
        let message = match socket.read() {
            Ok(m) => m,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            // The server may drop the TCP connection right after its close frame.
            Err(tungstenite::Error::Protocol(_) | tungstenite::Error::Io(_))
                if out.exit_code.is_some() =>
            {
                break
            }
            Err(e) => panic!("exec stream {url}: {e} (so far: {out:?})"),
        };
        let data = match message {
            Message::Binary(data) => data,
            Message::Close(_) => break,
            _ => continue,
        };
        let Some((&channel, payload)) = data.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(payload);
        match channel {
            1 => out.stdout.push_str(&text),
            2 => out.stderr.push_str(&text),
            3 if !payload.is_empty() => {
                out.status.push_str(&text);
                out.exit_code = Some(exit_code(&out.status));
            }
            _ => {}
        }
    }
    out
}

/// The exit code in the error channel's `Status`: 0 for `Success`, else the `ExitCode`
/// cause (k8s.io/apimachinery's NonZeroExitCode); panics on anything else.
fn exit_code(status: &str) -> i32 {
    let v: serde_json::Value =
        serde_json::from_str(status).unwrap_or_else(|e| panic!("error channel {status:?}: {e}"));
    if v["status"] == "Success" {
        return 0;
    }
    v["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["reason"] == "ExitCode")
        .and_then(|c| c["message"].as_str()?.parse().ok())
        .unwrap_or_else(|| panic!("the exec failed: {status}"))
}
