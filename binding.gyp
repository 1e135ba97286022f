{
  "targets": [
    {
      "target_name": "vigo_native",
      "sources": ["native/peercred.c", "native/fsat.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "gitback-tunnel",
      "type": "executable",
      "sources": ["native/gitback-tunnel.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
