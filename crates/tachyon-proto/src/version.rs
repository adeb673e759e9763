//! WebSocket subprotocol negotiation.
