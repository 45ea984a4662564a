"""The scale-out wing: workers beside the loop (`workers`: the plan a target gives, the
worker's link, the loop's handle on the group), the node controllers that size each
machine's share to its load (`controllers`), and the curriculum that shares worker slots
among the configurations of one run (`curriculum`). The league that runs several
configurations in one daemon (`ratchet.service.league`) is built on these."""
