"""The ML2/OVN lab: OVN central (clustered NB/SB, northd), ovn-controller per node, neutron-server on ML2/OVN."""
