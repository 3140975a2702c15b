package command

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// tlsFlags adds Nomad's TLS flags to the global ones, each defaulting to its
// environment variable.
func (c *cli) tlsFlags(pf *pflag.FlagSet) {
	env, err := api.TLSConfigFromEnv()
	if err != nil {
		c.tlsEnvErr = err
		env = &api.TLSConfig{}
	}
	pf.StringVar(&c.tls.CACert, "ca-cert", env.CACert, "PEM CA certificate that signs the agent's (NOMAD_CACERT)")
	pf.StringVar(&c.tls.CAPath, "ca-path", env.CAPath, "directory of PEM CA certificates (NOMAD_CAPATH)")
	pf.StringVar(&c.tls.ClientCert, "client-cert", env.ClientCert, "PEM client certificate (NOMAD_CLIENT_CERT)")
	pf.StringVar(&c.tls.ClientKey, "client-key", env.ClientKey, "PEM key of the client certificate (NOMAD_CLIENT_KEY)")
	pf.StringVar(&c.tls.TLSServerName, "tls-server-name", env.TLSServerName, "name the agent's certificate must carry (NOMAD_TLS_SERVER_NAME)")
	pf.BoolVar(&c.tls.Insecure, "tls-skip-verify", env.Insecure, "do not verify the agent's certificate (NOMAD_SKIP_VERIFY)")
}

func (c *cli) tlsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tls",
		Short: "Make a private CA and certificates for the cluster's mutual TLS",
	}
	ca := &cobra.Command{Use: "ca", Short: "Create or inspect the cluster's CA"}
	ca.AddCommand(c.tlsCACreateCommand(), c.tlsInfoCommand("CA"))
	cert := &cobra.Command{Use: "cert", Short: "Create or inspect agents' and the CLI's certificates"}
	cert.AddCommand(c.tlsCertCreateCommand(), c.tlsInfoCommand("certificate"))
	cmd.AddCommand(ca, cert)
	return cmd
}

func (c *cli) tlsCACreateCommand() *cobra.Command {
	var o tlsutil.CAOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a self-signed CA: <domain>-agent-ca.pem and <domain>-agent-ca-key.pem",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			if len(o.AdditionalDomains) > 0 && !o.NameConstraint {
				return usageError("nomadlike tls ca create", "-additional-domain needs -name-constraint")
			}
			certPEM, keyPEM, err := tlsutil.GenerateCA(o)
			if err != nil {
				return fail("creating the CA", err, "")
			}
			certFile, keyFile := o.Domain+"-agent-ca.pem", o.Domain+"-agent-ca-key.pem"
			if err := writeNew(certFile, certPEM, 0o644); err != nil {
				return err
			}
			c.out("==> CA certificate saved to: %s", certFile)
			if err := writeNew(keyFile, keyPEM, 0o600); err != nil {
				return err
			}
			c.out("==> CA certificate key saved to: %s", keyFile)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Days, "days", 1825, "days the CA is valid")
	fl.StringVar(&o.Domain, "domain", tlsutil.DefaultDomain, "the cluster's TLS domain (file names, and -name-constraint)")
	fl.StringVar(&o.CommonName, "common-name", "", "the CA's common name (default \"Nomad Agent CA <serial>\")")
	fl.BoolVar(&o.NameConstraint, "name-constraint", false, "let the CA sign only names in -domain, localhost and -additional-domain")
	fl.StringArrayVar(&o.AdditionalDomains, "additional-domain", nil, "another domain the CA may sign, with -name-constraint (repeatable)")
	return cmd
}

func (c *cli) tlsCertCreateCommand() *cobra.Command {
	var (
		server, client, cliCert bool
		o                       tlsutil.CertOptions
		caFile, keyFile         string
		ips                     []string
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a certificate signed by the CA: -server, -client or -cli",
		Long: `Create a certificate signed by the CA, named as Nomad's: <region>-<role>-<domain>.pem
and <region>-<role>-<domain>-key.pem. Servers' certificates are valid for
server.<region>.<domain> (what verify_server_hostname checks), clients' for
client.<region>.<domain>, the CLI's for cli.<region>.<domain>; all for
localhost, servers' and clients' also for 127.0.0.1.`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, b := range []bool{server, client, cliCert} {
				if b {
					n++
				}
			}
			if n != 1 {
				return usageError(cmd.CommandPath(), "give exactly one of -server, -client or -cli")
			}
			switch {
			case server:
				o.Role = tlsutil.RoleServer
			case client:
				o.Role = tlsutil.RoleClient
			default:
				o.Role = tlsutil.RoleCLI
			}
			for _, s := range ips {
				ip := net.ParseIP(s)
				if ip == nil {
					return usageError(cmd.CommandPath(), "-additional-ipaddress %q is not an IP address", s)
				}
				o.IPs = append(o.IPs, ip)
			}
			if caFile == "" {
				caFile = o.Domain + "-agent-ca.pem"
			}
			if keyFile == "" {
				keyFile = o.Domain + "-agent-ca-key.pem"
			}
			caPEM, err := os.ReadFile(caFile)
			if err != nil {
				return fail("reading the CA", err, "Create one with `nomadlike tls ca create`, or name it with -ca.")
			}
			caKey, err := os.ReadFile(keyFile)
			if err != nil {
				return fail("reading the CA key", err, "Name it with -key.")
			}
			certPEM, keyPEM, err := tlsutil.GenerateCert(caPEM, caKey, o)
			if err != nil {
				return fail("creating the certificate", err, "")
			}
			if o.Role == tlsutil.RoleServer {
				c.out("==> WARNING: Server Certificates grants authority to become a\n    server and access all state in the cluster including root keys\n    and all ACL tokens. Do not distribute them to production hosts\n    that are not server nodes. Store them as securely as CA keys.")
			}
			c.out("==> Using CA file %s and CA key %s", caFile, keyFile)
			base := fmt.Sprintf("%s-%s-%s", o.Region, o.Role, o.Domain)
			title := strings.ToUpper(string(o.Role[:1])) + string(o.Role[1:])
			if o.Role == tlsutil.RoleCLI {
				title = "Cli"
			}
			if err := writeNew(base+".pem", certPEM, 0o644); err != nil {
				return err
			}
			c.out("==> %s Certificate saved to %s.pem", title, base)
			if err := writeNew(base+"-key.pem", keyPEM, 0o600); err != nil {
				return err
			}
			c.out("==> %s Certificate key saved to %s-key.pem", title, base)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&server, "server", false, "create a server's certificate")
	fl.BoolVar(&client, "client", false, "create a client agent's certificate")
	fl.BoolVar(&cliCert, "cli", false, "create the CLI's certificate")
	fl.StringVar(&o.Region, "region", "global", "the region the certificate is for")
	fl.StringVar(&o.Region, "cluster-region", "global", "same as -region")
	fl.StringVar(&o.Region, "dc", "global", "same as -region (Consul's flag name)")
	_ = fl.MarkHidden("dc")
	fl.StringVar(&o.Domain, "domain", tlsutil.DefaultDomain, "the cluster's TLS domain")
	fl.IntVar(&o.Days, "days", 365, "days the certificate is valid")
	fl.StringVar(&caFile, "ca", "", "the CA certificate (default <domain>-agent-ca.pem)")
	fl.StringVar(&keyFile, "key", "", "the CA key (default <domain>-agent-ca-key.pem)")
	fl.StringArrayVar(&o.DNSNames, "additional-dnsname", nil, "another DNS name the certificate is valid for (repeatable)")
	fl.StringArrayVar(&ips, "additional-ipaddress", nil, "another IP address the certificate is valid for (repeatable)")
	return cmd
}

// tlsInfoCommand is `tls ca info` and `tls cert info <file>`.
func (c *cli) tlsInfoCommand(what string) *cobra.Command {
	return &cobra.Command{
		Use:   "info <file>",
		Short: "Show a " + what + "'s serial, issuer, names and expiry",
		Args:  argsBetween(1, 1, "the certificate file"),
		RunE: func(_ *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return fail("reading the "+what, err, "")
			}
			cert, err := tlsutil.ParseCertificate(b)
			if err != nil {
				return fail("reading "+args[0], err, "")
			}
			rows := [][2]string{
				{"Serial Number", cert.SerialNumber.String()},
				{"Issuer CN", cert.Issuer.CommonName},
				{"Common Name", cert.Subject.String()},
				{"Expiry Date", cert.NotAfter.UTC().String()},
			}
			if cert.IsCA {
				rows = append(rows, [2]string{"Permitted DNS Domains", fmt.Sprint(cert.PermittedDNSDomains)})
			} else {
				rows = append(rows, [2]string{"DNS Names", fmt.Sprint(cert.DNSNames)}, [2]string{"IP Addresses", fmt.Sprint(cert.IPAddresses)})
			}
			for _, r := range rows {
				c.out("%-22s %s", r[0], r[1])
			}
			return nil
		},
	}
}

// writeNew writes a file that must not exist yet, as Nomad's tls commands:
// an existing certificate or key is never overwritten.
func writeNew(name string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fail("writing "+name, err, "Remove the file or run the command in another directory.")
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fail("writing "+name, err, "")
	}
	if err := f.Close(); err != nil {
		return fail("writing "+name, err, "")
	}
	return nil
}
