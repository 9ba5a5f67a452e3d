package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/web"
)

// newUserPasswdCommand is `aipd admin user passwd`: it sets the password a
// user signs in to the web console with. The password is read from stdin
// (without echo on a terminal, twice to confirm), never from a flag, which
// would leave it in the shell history and the process list.
func newUserPasswdCommand(env *adminEnv, stdout, stderr io.Writer) *cobra.Command {
	var userID string
	cmd := &cobra.Command{
		Use:   "passwd",
		Short: "Set a user's web console password, read from stdin; ends the user's console sessions",
		Long: fmt.Sprintf(`Set the password a user signs in to the web console (/console/) with. The password is read
from stdin: typed twice without echo on a terminal, or the first line of piped input. It must be
at least %d characters. Setting it signs the user out of every console session.`, web.MinPasswordLength),
		Example: "  aipd admin --data ./aip-data user passwd --user USER_ID\n" +
			"  printf '%s\\n' \"$PASSWORD\" | aipd admin user passwd --user USER_ID",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(cmd.InOrStdin(), stderr)
			if err != nil {
				return err
			}
			if err := web.CheckPasswordPolicy(pw); err != nil {
				return err
			}
			hash, err := web.HashPassword(pw)
			if err != nil {
				return err
			}
			db, _, err := env.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.SetPassword(cmd.Context(), userID, hash); err != nil {
				if aip.ErrorCode(err) == aip.ENOTFOUND {
					return fmt.Errorf("user %q: %s", userID, aip.ErrorMessage(err))
				}
				return fmt.Errorf("set password: %w", err)
			}
			fmt.Fprintln(stdout, "USER_ID="+userID)
			fmt.Fprintln(stdout, "PASSWORD_SET=true")
			return nil
		},
	}
	cmd.Flags().StringVar(&userID, "user", "", "user id")
	mustRequire(cmd, "user")
	return cmd
}

// readPassword reads the new password: from a terminal twice without echo,
// otherwise the first line of in (its line ending removed).
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "New password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(prompt, "Repeat it: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			return "", errors.New("the passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, web.MaxPasswordLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on stdin")
	}
	return line, nil
}
