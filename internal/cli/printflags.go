package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
)

// outputWide is the table with its extra columns; the table itself is the
// default (no -o).
const outputWide = "wide"

// outputJSON and outputYAML are -o json and -o yaml, for commands that offer
// only those besides their own text.
const (
	outputJSON = "json"
	outputYAML = "yaml"
)

// printFlags are kubectl's output flags: -o json|yaml|name|jsonpath=|
// jsonpath-file=|go-template=|go-template-file=|custom-columns=|
// custom-columns-file= and --template, --show-managed-fields,
// --allow-missing-template-keys from k8s.io/cli-runtime (custom columns from
// k8s.io/kubectl, as `kubectl get` has them), plus our table and -o wide.
// Each resource has a table printer of its own (*_printer.go).
type printFlags struct {
	print         *genericclioptions.PrintFlags
	customColumns *get.CustomColumnsPrintFlags
	noHeaders     bool
}

func newPrintFlags() *printFlags {
	return &printFlags{
		print:         genericclioptions.NewPrintFlags("").WithTypeSetter(scheme),
		customColumns: get.NewCustomColumnsPrintFlags(),
	}
}

func (p *printFlags) addFlags(cmd *cobra.Command) {
	p.print.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (" + strings.Join(p.allowedFormats(), ", ") + "); default: a table"
	cmd.Flags().BoolVar(&p.noHeaders, "no-headers", false, "When using the default, wide or custom-columns output, don't print headers")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return p.allowedFormats(), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
}

// format is the -o value.
func (p *printFlags) format() string { return *p.print.OutputFormat }

// human is true for the table and -o wide.
func (p *printFlags) human() bool {
	f := p.format()
	return (f == "" && !p.templateGiven()) || f == outputWide
}

func (p *printFlags) templateGiven() bool {
	t := p.print.TemplatePrinterFlags.TemplateArgument
	return t != nil && *t != ""
}

func (p *printFlags) allowedFormats() []string {
	formats := append(p.print.AllowedFormats(), p.customColumns.AllowedFormats()...)
	formats = append(formats, outputWide)
	slices.Sort(formats)
	return formats
}

// validate checks -o (and a template's syntax) before anything is fetched.
func (p *printFlags) validate() error {
	if p.human() {
		return nil
	}
	_, err := p.toPrinter()
	return err
}

// toPrinter returns the printer of a non-table format.
func (p *printFlags) toPrinter() (printers.ResourcePrinter, error) {
	format := p.format()
	if strings.HasPrefix(format, "custom-columns") {
		p.customColumns.NoHeaders = p.noHeaders
		printer, err := p.customColumns.ToPrinter(format)
		if err != nil && !genericclioptions.IsNoCompatiblePrinterError(err) {
			return nil, fmt.Errorf("-o %s: %w", format, err)
		}
		if err == nil {
			return printer, nil
		}
	}
	printer, err := p.print.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return nil, genericclioptions.NoCompatiblePrinterError{OutputFormat: &format, AllowedFormats: p.allowedFormats()}
	}
	if err != nil {
		return nil, fmt.Errorf("-o %s: %w", format, err)
	}
	return printer, nil
}

// printObjects writes objs in a non-table format: one object as itself when
// single (get NAME), otherwise a List as kubectl prints one.
func (p *printFlags) printObjects(w io.Writer, objs []runtime.Object, single bool) error {
	printer, err := p.toPrinter()
	if err != nil {
		return err
	}
	items := make([]unstructured.Unstructured, 0, len(objs))
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		items = append(items, *u)
	}
	if single && len(items) == 1 {
		return printer.PrintObj(&items[0], w)
	}
	list := &unstructured.UnstructuredList{
		Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}},
		Items:  items,
	}
	return printer.PrintObj(list, w)
}

// toUnstructured converts a typed object, with its apiVersion and kind set
// from the scheme (a typed client clears them), for the generic printers.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	obj = obj.DeepCopyObject()
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: content}, nil
}
