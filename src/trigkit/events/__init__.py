"""Events: the HH->4b / QCD / ttbar generator and the NanoAOD and HDF5 readers.

Every source yields :class:`~trigkit.events.batch.EventBatch`.
"""

from trigkit.events.batch import EventBatch

__all__ = ["EventBatch"]
