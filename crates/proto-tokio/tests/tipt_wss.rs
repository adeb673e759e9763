//! A Tipt node and client over a real loopback `wss` connection.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::Close;
use proto_tokio::tls::{self, CertificateDer, PrivateKeyDer};
use proto_tokio::ws::WsConfig;
use proto_tokio::{Activity, Driver};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tipt_proto::{
    Client, ClientConfig, ClientEvent, Disconnect, Node, NodeConfig, NodeEvent, NodeRequestType,
    RawBuf, Reply,
};
use tokio::net::TcpListener;

fn certificates() -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "tipt test authority");
    let authority = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &authority)
        .unwrap();
    let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (authority.der().clone(), vec![leaf.der().clone()], key)
}

/// The node's application: signs in, "fetches" keys, "forwards" by echoing.
async fn run_node(
    listener: TcpListener,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Vec<NodeEvent> {
    let (stream, _) = listener.accept().await.unwrap();
    let config = tls::server_config(chain, key).unwrap();
    let transport = tls::accept(stream, config, &tipt_ws()).await.unwrap();
    let mut driver = Driver::new(Node::new(NodeConfig::new()).unwrap(), transport);
    let mut events = vec![];
    while let Some(activity) = driver.next().await {
        let Activity::Event(event) = activity else {
            continue;
        };
        let node = driver.machine();
        match &event {
            NodeEvent::Request { id, reqt, .. } if *reqt == NodeRequestType::SIGN_IN => {
                node.respond(*id, None).unwrap();
                node.set_signed_in(true);
            }
            NodeEvent::FetchNodeKey { id, .. } => node.answer_node_key(*id, b"KEY").unwrap(),
            NodeEvent::Forward {
                id,
                wait: true,
                msg,
                ..
            } => node.answer_forward(*id, msg).unwrap(),
            _ => {}
        }
        events.push(event);
    }
    events
}

async fn next<T: proto_tokio::Transport>(driver: &mut Driver<Client, T>) -> ClientEvent {
    match tokio::time::timeout(Duration::from_secs(5), driver.next()).await {
        Ok(Some(Activity::Event(event))) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn handshake_sign_in_key_and_forwards_over_wss() {
    let (root, chain, key) = certificates();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "wss://localhost:{}/ws",
        listener.local_addr().unwrap().port()
    );
    let node = tokio::spawn(run_node(listener, chain, key));

    let config = tls::client_config([root]).unwrap();
    let (transport, _) = tls::connect(url.as_str(), config, &tipt_ws())
        .await
        .unwrap();
    let mut client = Driver::new(Client::new(ClientConfig::new()).unwrap(), transport);
    assert_eq!(
        next(&mut client).await,
        ClientEvent::Handshake {
            node_version: "1.0.0".into(),
            compatible: true
        }
    );
    let now = Instant::now();
    let id = client
        .machine()
        .send_request(now, NodeRequestType::SIGN_IN, Some(&RawBuf::nil()))
        .unwrap();
    assert_eq!(
        next(&mut client).await,
        ClientEvent::Response {
            id,
            reply: Reply::Body(None)
        }
    );
    let id = client.machine().get_node_key(now, "peer.example").unwrap();
    assert_eq!(
        next(&mut client).await,
        ClientEvent::Response {
            id,
            reply: Reply::NodeKey(Bytes::from_static(b"KEY"))
        }
    );
    let msg = vec![0x5a; 1 << 20];
    let id = client
        .machine()
        .forward(now, "peer.example", true, &msg)
        .unwrap();
    assert_eq!(
        next(&mut client).await,
        ClientEvent::Response {
            id,
            reply: Reply::Forwarded(Some(Bytes::from(msg)))
        }
    );
    let id = client
        .machine()
        .forward(now, "peer.example", false, b"fire and forget")
        .unwrap();
    assert_eq!(
        next(&mut client).await,
        ClientEvent::Response {
            id,
            reply: Reply::Forwarded(None)
        }
    );

    client.machine().close();
    assert_eq!(
        next(&mut client).await,
        ClientEvent::Disconnected(Disconnect::Local(Close::new(1000, "client closing")))
    );
    let events = tokio::time::timeout(Duration::from_secs(5), node)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(events.len(), 6, "{events:?}");
    assert!(
        matches!(&events[4], NodeEvent::Forward { wait: false, msg, .. } if msg[..] == b"fire and forget"[..])
    );
    assert_eq!(
        events[5],
        NodeEvent::Disconnected(Disconnect::Remote(Some(Close::new(1000, "client closing"))))
    );
}

/// The WebSocket layer bounded by Tipt's own frame limit.
fn tipt_ws() -> WsConfig {
    WsConfig::from_limits(&proto_core::Limits {
        max_frame_len: tipt_proto::MAX_FRAME_LEN,
        ..proto_core::Limits::default()
    })
}
