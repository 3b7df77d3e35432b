DROP TABLE key_ring_nodes;
DROP TABLE master_keys;
