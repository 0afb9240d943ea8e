from .spyne_compat import install as _install_spyne_compat

_install_spyne_compat()
