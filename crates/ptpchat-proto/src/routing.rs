//! The routing table: neighbours, what each advertised, and the best next hop to
//! every node, by hop count.

use std::collections::BTreeMap;

use crate::message::{NodeId, RouteEntry};
use crate::peer::PeerKey;

/// How to reach a node: through which neighbour, in how many hops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The neighbour's link or address.
    pub via: proto_core::Peer,
    /// Hops from this node; 1 for a neighbour.
    pub hops: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Best {
    via: PeerKey,
    hops: u32,
}

/// Distance-vector routing with split horizon: a route is never advertised back
/// to the neighbour it goes through, and routes longer than `max_hops` are dropped,
/// so a lost node's routes die out instead of counting up for ever.
#[derive(Debug)]
pub(crate) struct RoutingTable {
    own: NodeId,
    neighbours: BTreeMap<PeerKey, NodeId>,
    adverts: BTreeMap<PeerKey, Vec<RouteEntry>>,
    best: BTreeMap<NodeId, Best>,
    max_routes: usize,
    max_hops: u32,
}

impl RoutingTable {
    pub(crate) fn new(own: NodeId, max_routes: usize, max_hops: u32) -> Self {
        RoutingTable {
            own,
            neighbours: BTreeMap::new(),
            adverts: BTreeMap::new(),
            best: BTreeMap::new(),
            max_routes,
            max_hops,
        }
    }

    /// Records that `peer` is node `node_id`; true if the best routes changed.
    pub(crate) fn set_neighbour(&mut self, peer: PeerKey, node_id: NodeId) -> bool {
        if node_id == self.own || self.neighbours.get(&peer) == Some(&node_id) {
            return false;
        }
        self.neighbours.insert(peer, node_id);
        self.recompute()
    }

    /// Forgets `peer` and all it advertised; true if the best routes changed.
    pub(crate) fn remove_peer(&mut self, peer: PeerKey) -> bool {
        let known = self.neighbours.remove(&peer).is_some();
        let advertised = self.adverts.remove(&peer).is_some();
        (known || advertised) && self.recompute()
    }

    /// Replaces what `peer` advertises (at most `max_routes` entries are kept); true
    /// if the best routes changed.
    pub(crate) fn set_advert(&mut self, peer: PeerKey, mut nodes: Vec<RouteEntry>) -> bool {
        nodes.truncate(self.max_routes);
        if self.adverts.get(&peer) == Some(&nodes) {
            return false;
        }
        self.adverts.insert(peer, nodes);
        self.recompute()
    }

    fn recompute(&mut self) -> bool {
        let mut best: BTreeMap<NodeId, Best> = BTreeMap::new();
        let offer = |best: &mut BTreeMap<NodeId, Best>, node: NodeId, candidate: Best| match best
            .get(&node)
        {
            Some(current) if (current.hops, current.via) <= (candidate.hops, candidate.via) => {}
            Some(_) => {
                best.insert(node, candidate);
            }
            None if best.len() < self.max_routes => {
                best.insert(node, candidate);
            }
            None => {}
        };
        for (&via, &node) in &self.neighbours {
            offer(&mut best, node, Best { via, hops: 1 });
        }
        for (&via, entries) in &self.adverts {
            // Only a neighbour that said who it is can carry routes.
            if !self.neighbours.contains_key(&via) {
                continue;
            }
            for entry in entries {
                let hops = entry.hops.saturating_add(1);
                if entry.node_id == self.own || hops > self.max_hops || entry.hops == 0 {
                    continue;
                }
                offer(&mut best, entry.node_id, Best { via, hops });
            }
        }
        let changed = best != self.best;
        self.best = best;
        changed
    }

    /// The best route to `node`.
    pub(crate) fn route(&self, node: &NodeId) -> Option<Route> {
        self.best.get(node).map(|best| Route {
            via: best.via.into(),
            hops: best.hops,
        })
    }

    /// The neighbour `peer`'s node id, once its HELLO said it.
    pub(crate) fn neighbour(&self, peer: &PeerKey) -> Option<NodeId> {
        self.neighbours.get(peer).copied()
    }

    /// What to advertise to `peer`: every route not going through it.
    pub(crate) fn advert_for(&self, peer: PeerKey) -> Vec<RouteEntry> {
        self.best
            .iter()
            .filter(|(_, best)| best.via != peer)
            .map(|(&node_id, best)| RouteEntry {
                node_id,
                hops: best.hops,
            })
            .collect()
    }

    /// Every known node with its route.
    pub(crate) fn routes(&self) -> impl Iterator<Item = (NodeId, Route)> + '_ {
        self.best.iter().map(|(&node, best)| {
            (
                node,
                Route {
                    via: best.via.into(),
                    hops: best.hops,
                },
            )
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.best.len()
    }

    pub(crate) fn advert_entries(&self) -> usize {
        self.adverts.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn node(n: u128) -> NodeId {
        Uuid::from_u128(n)
    }

    #[test]
    fn best_route_wins_and_dies_with_its_link() {
        let mut table = RoutingTable::new(node(0), 100, 32);
        assert!(table.set_neighbour(PeerKey::Link(1), node(1)));
        assert!(table.set_neighbour(PeerKey::Link(2), node(2)));
        let far = RouteEntry {
            node_id: node(9),
            hops: 3,
        };
        assert!(table.set_advert(PeerKey::Link(1), vec![far]));
        assert!(table.set_advert(
            PeerKey::Link(2),
            vec![
                RouteEntry { hops: 1, ..far },
                RouteEntry {
                    node_id: node(0),
                    hops: 1
                }
            ]
        ));
        let route = table.route(&node(9)).unwrap();
        assert_eq!(route.hops, 2);
        assert_eq!(route.via, proto_core::Peer::Link(proto_core::LinkId(2)));
        assert_eq!(table.route(&node(0)), None, "never a route to ourselves");
        // Split horizon: node 9 is not advertised back to link 2.
        assert_eq!(
            table.advert_for(PeerKey::Link(2)),
            vec![RouteEntry {
                node_id: node(1),
                hops: 1
            }]
        );
        assert!(table.remove_peer(PeerKey::Link(2)));
        assert_eq!(table.route(&node(9)).unwrap().hops, 4);
        assert_eq!(table.route(&node(2)), None);
    }

    #[test]
    fn holds_at_most_max_routes_and_max_hops() {
        let mut table = RoutingTable::new(node(0), 3, 4);
        table.set_neighbour(PeerKey::Link(1), node(1));
        let many = (10..20)
            .map(|n| RouteEntry {
                node_id: node(n),
                hops: 1,
            })
            .collect();
        table.set_advert(PeerKey::Link(1), many);
        assert_eq!(table.len(), 3);
        table.set_advert(
            PeerKey::Link(1),
            vec![RouteEntry {
                node_id: node(5),
                hops: 4,
            }],
        );
        assert_eq!(table.route(&node(5)), None, "5 hops is over the limit");
    }
}
