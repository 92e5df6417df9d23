B	initial_cJ0)H­½¿ûª>l	‰<OL¤¾|Ké¾´F¡>Ïpœ½
µ‚¿*R>ôò¾#W?™Íg?