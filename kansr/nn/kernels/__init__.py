"""The fast paths of a layer's forward and backward, all derived from :mod:`kansr.nn._splines`.

* :mod:`._tables` — per-interval polynomial tables of the basis (built from the
  one basis definition), the tensor-code layer op and the dispatch between it
  and the compiled kernels;
* :mod:`._jit` and :mod:`._numba` — the compiled (numba) layer kernels for
  cubic splines on the CPU (``KANSR_NUMBA=0`` switches them off);
* :mod:`._network` — a plain numeric KAN as one autograd node calling the
  compiled layer kernels, fed by each layer's public
  :meth:`~kansr.nn.KANLayer.kernel_state`.
"""
