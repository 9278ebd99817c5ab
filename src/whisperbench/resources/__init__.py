"""What a case costs beyond time (issue 24): the energy of its timed rounds (``energy``), device
memory read from NVML for engines that do not allocate through torch (``nvml``), and a timeline
of power, memory, temperature and clock sampled in the background (``sampler``, saved in the
compact form of ``timeline``). Engines know nothing of this: the suite's measuring code
(``suite.measure``) wraps the timed rounds with it (``suite.resources``)."""
