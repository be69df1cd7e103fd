import {
  type KeyboardEvent,
  type ReactNode,
  type Ref,
  useEffect,
  useId,
  useRef,
  useState,
} from "react";
import { FieldErrorText } from "./TextField";

export interface ComboboxOption {
  /** Unique among the options; becomes part of the option's DOM id. */
  key: string;
  /** What the option stands for (a symbol, a time zone). */
  value: string;
  /** What the option shows; its text is the option's accessible name. */
  label: ReactNode;
}

export interface ComboboxProps {
  label: string;
  /** The text in the box. */
  value: string;
  onValueChange: (value: string) => void;
  options: readonly ComboboxOption[];
  onSelect: (option: ComboboxOption) => void;
  /**
   * Enter pressed while no option is highlighted. Without it, Enter does what it does
   * in a form: submits it.
   */
  onEnterWithoutOption?: () => void;
  /** A short live message under the box: "Searching…", "3 matches", "No matches". */
  message?: string | undefined;
  hint?: ReactNode;
  error?: string | undefined;
  /**
   * The popup's name. Deliberately not the box's label: tools that find fields by
   * label text would otherwise find the popup too.
   */
  listLabel?: string;
  /** Extra ids for aria-describedby (an alert next to the box, say). */
  describedBy?: string | undefined;
  name?: string;
  placeholder?: string;
  ref?: Ref<HTMLInputElement>;
}

/**
 * An editable combobox with a list popup, after the ARIA 1.2 pattern
 * (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/): focus stays in the text box,
 * the highlighted option is named by aria-activedescendant; Down/Up move through the
 * options, Enter chooses, Escape closes the popup (and keeps the text, so that Enter
 * then acts on exactly what was typed).
 */
export function Combobox({
  label,
  value,
  onValueChange,
  options,
  onSelect,
  onEnterWithoutOption,
  message,
  hint,
  error,
  describedBy,
  listLabel = "Suggestions",
  name,
  placeholder,
  ref,
}: ComboboxProps) {
  const id = useId();
  const inputId = `${id}-input`;
  const listboxId = `${id}-listbox`;
  const hintId = `${id}-hint`;
  const messageId = `${id}-message`;
  const errorId = `${id}-error`;
  const optionId = (index: number) => `${id}-option-${index}`;
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const listRef = useRef<HTMLUListElement>(null);

  // Different options (new search results) start with nothing highlighted.
  const optionKeys = options.map((o) => o.key).join("\n");
  const [shownKeys, setShownKeys] = useState(optionKeys);
  if (optionKeys !== shownKeys) {
    setShownKeys(optionKeys);
    setActive(-1);
  }

  const expanded = open && options.length > 0;
  const activeIndex = expanded && active < options.length ? active : -1;

  useEffect(() => {
    if (activeIndex < 0) return;
    const el = listRef.current?.children[activeIndex];
    el?.scrollIntoView?.({ block: "nearest" });
  }, [activeIndex]);

  function choose(option: ComboboxOption) {
    setOpen(false);
    setActive(-1);
    onSelect(option);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    const count = options.length;
    switch (event.key) {
      case "ArrowDown":
        if (count === 0) return;
        event.preventDefault();
        if (!expanded) {
          setOpen(true);
          setActive(0);
        } else {
          setActive((i) => (i + 1 >= count ? 0 : i + 1));
        }
        return;
      case "ArrowUp":
        if (count === 0) return;
        event.preventDefault();
        if (!expanded) {
          setOpen(true);
          setActive(count - 1);
        } else {
          setActive((i) => (i <= 0 ? count - 1 : i - 1));
        }
        return;
      case "Enter": {
        const option = activeIndex >= 0 ? options[activeIndex] : undefined;
        if (option) {
          event.preventDefault();
          choose(option);
        } else if (onEnterWithoutOption) {
          event.preventDefault();
          setOpen(false);
          onEnterWithoutOption();
        } else {
          setOpen(false);
        }
        return;
      }
      case "Escape":
        if (expanded) event.preventDefault();
        setOpen(false);
        setActive(-1);
        return;
      case "Tab":
        setOpen(false);
        return;
      default:
        return;
    }
  }

  const describedByIds = [hint ? hintId : null, message ? messageId : null, error ? errorId : null, describedBy]
    .filter(Boolean)
    .join(" ");

  return (
    <div className={error ? "field combobox field-invalid" : "field combobox"}>
      <label htmlFor={inputId}>{label}</label>
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      <div className="combobox-wrapper">
        <input
          ref={ref}
          id={inputId}
          name={name}
          type="text"
          role="combobox"
          autoComplete="off"
          autoCapitalize="off"
          spellCheck={false}
          placeholder={placeholder}
          aria-autocomplete="list"
          aria-expanded={expanded}
          aria-controls={listboxId}
          aria-activedescendant={activeIndex >= 0 ? optionId(activeIndex) : undefined}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedByIds || undefined}
          value={value}
          onChange={(event) => {
            onValueChange(event.target.value);
            setOpen(true);
            setActive(-1);
          }}
          onKeyDown={onKeyDown}
          onClick={() => setOpen(true)}
          onBlur={() => setOpen(false)}
        />
        <ul
          ref={listRef}
          id={listboxId}
          role="listbox"
          aria-label={listLabel}
          className="combobox-listbox"
          hidden={!expanded}
        >
          {options.map((option, index) => (
            <li
              key={option.key}
              id={optionId(index)}
              role="option"
              aria-selected={index === activeIndex}
              className={index === activeIndex ? "combobox-option active" : "combobox-option"}
              // Keep focus in the text box while the pointer chooses.
              onMouseDown={(event) => event.preventDefault()}
              onMouseMove={() => {
                if (index !== activeIndex) setActive(index);
              }}
              onClick={() => choose(option)}
            >
              {option.label}
            </li>
          ))}
        </ul>
      </div>
      <p id={messageId} className="combobox-message" aria-live="polite">
        {message}
      </p>
      <FieldErrorText id={errorId} message={error} />
    </div>
  );
}
