"""twinedge: compile learning metamaterials from a YAML spec to trained, verified hardware."""

import os as _os

__version__ = "0.1.0"

# ngspice (Debian's libngspice0 and /usr/bin/ngspice) runs its device evaluation on OpenMP
# threads, which by libgomp's default spin while they wait: two ngspice runs side by side
# on a 2-core machine (pytest workers, a flow's parallel decks, sweep workers) then take
# ~50x as long (one PDK device table: 7.9 s alone, 420 s each with a second beside it;
# 21 s each with passive waiting). libgomp reads this when ngspice loads it, after this
# import; a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
