// Command etcd is the etcd server, built from a pinned module so that the local
// cluster and envtest use a known version without a download at run time.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
