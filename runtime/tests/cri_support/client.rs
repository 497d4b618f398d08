//! A blocking CRI client: k8s-cri's generated tonic clients (the `runtime.v1` API kubelet
//! speaks) over containerd's unix socket, each call run to completion on a private
//! current-thread tokio runtime and bounded by [`CALL_LIMIT`].

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint, Uri};

/// How long one CRI call may take (a hang guard: StopContainer's own grace period is shorter).
pub const CALL_LIMIT: Duration = Duration::from_secs(60);

pub struct Cri {
    rt: tokio::runtime::Runtime,
    channel: Channel,
}

impl Cri {
    /// Connects to the CRI socket at `socket` (no call is made yet).
    pub fn connect(socket: &Path) -> Result<Cri, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let path = socket.to_owned();
        let channel = rt
            .block_on(async move {
                // The URI is a placeholder: every connection goes to the unix socket.
                Endpoint::from_static("http://[::]:0")
                    .timeout(CALL_LIMIT)
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let path = path.clone();
                        async move {
                            let stream = tokio::net::UnixStream::connect(path).await?;
                            Ok::<_, std::io::Error>(TokioIo::new(stream))
                        }
                    }))
                    .await
            })
            .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
        Ok(Cri { rt, channel })
    }

    /// The RuntimeService (pods, containers, exec, stats).
    pub fn runtime(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(self.channel.clone())
    }

    /// The ImageService.
    pub fn images(&self) -> ImageServiceClient<Channel> {
        ImageServiceClient::new(self.channel.clone())
    }

    /// Runs one call: `cri.call(cri.runtime().version(req))`.
    pub fn call<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, tonic::Status> {
        self.rt.block_on(call).map(tonic::Response::into_inner)
    }
}
